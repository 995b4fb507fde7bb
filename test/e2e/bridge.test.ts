import { expect } from "chai";
import { rmSync } from "node:fs";
import path from "node:path";
import { MaxUint256 } from "ethers";
import OpenAI from "openai";
import type { Browser } from "playwright-core";
import type { ClientConnection } from "../../worker/client/connection.js";
import { TaskStatus } from "../../worker/chain/enums.js";
import { connectDevnet } from "../../worker/devnet/client.js";
import { waitForResult } from "../../worker/client/result.js";
import { startDevnet, type Devnet } from "../../worker/devnet/devnet.js";
import { GptEngine, encodeTask, hashBytes, type GptResponse } from "../../worker/engine/index.js";
import type { NetworkSnapshot } from "../../worker/explorer/indexer.js";
import { defaultModelsDir } from "../../worker/paths.js";
import { SCREENSHOT_DIR, chatOnce, launchChromium } from "../bridge/browser.js";
import { expectSucceeded } from "./expectations.js";
import { tempStateDir } from "./helpers.js";

interface Receipt {
  task_id: string;
  nodes: string[];
  args_hash: string;
  model_revision: string;
  model_digest: string;
  result_hash: string;
  seed: number;
}

/** A devnet with one group of three workers and its bridge, used through the official openai client. */
describe("e2e: the bridge on a devnet", function () {
  this.timeout(300_000);
  let stateDir: string;
  let devnet: Devnet;
  let conn: ClientConnection;
  let openai: OpenAI;

  before(async function () {
    stateDir = tempStateDir("bridge");
    devnet = await startDevnet({ stateDir, groups: [{ cardModel: "NVIDIA GeForce RTX 4090", vramGb: 24, count: 3 }] });
    conn = await connectDevnet(stateDir);
    openai = new OpenAI({ apiKey: devnet.manifest.bridge.apiKey, baseURL: `${devnet.manifest.bridge.url}/v1`, maxRetries: 0 });
  });

  after(async function () {
    conn?.close();
    await devnet?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("answers with the result the chain vouches for, byte for byte what the engine computes locally", async function () {
    const messages = [{ role: "user" as const, content: "Once upon a time" }];
    const completion = await openai.chat.completions.create({ model: "stories260K", messages, temperature: 0.8, seed: 11, max_tokens: 24 });
    const receipt = (completion as unknown as { triad: Receipt }).triad;

    const verified = await waitForResult(conn, BigInt(receipt.task_id), { timeoutMs: 30_000 });
    expectSucceeded(verified);
    expect(receipt.result_hash).to.equal(verified.resultHash);
    expect([...receipt.nodes].sort()).to.deep.equal([...verified.nodes].sort());
    const agreed = verified.document as GptResponse;
    expect(completion.choices[0]!.message.content).to.equal(agreed.choices[0]!.message.content);
    expect(completion.usage).to.deep.equal(agreed.usage);
    // One standing approval for the fee wallet, not an approve transaction per request.
    expect(await conn.token.allowance(devnet.manifest.bridge.payer, devnet.deployment.taskManager)).to.equal(MaxUint256);

    // The receipt binds request, weights and answer: the on-chain argsHash and the registry entry of the task's model.
    const onChain = await conn.taskManager.getTask(BigInt(receipt.task_id));
    const entry = await conn.registry.getModel(onChain.model);
    expect(receipt.args_hash).to.equal(onChain.argsHash);
    expect([receipt.model_revision, receipt.model_digest]).to.deep.equal([entry.revision, entry.digest]);
    expect(completion.system_fingerprint).to.equal(`fp_${entry.digest.slice(2, 14)}`);

    // The same task run here: the bridge's mapping is what the nodes ran.
    const engine = new GptEngine({ modelsDir: defaultModelsDir() });
    try {
      const taskBytes = encodeTask({
        model: "stories260K",
        messages,
        seed: 11,
        generation_config: { max_new_tokens: 24, do_sample: true, temperature: 0.8, top_k: 0 },
      });
      expect(hashBytes(taskBytes), "the task document the nodes ran").to.equal(receipt.args_hash);
      const local = await engine.runTask(taskBytes);
      expect(local.resultHash).to.equal(receipt.result_hash);
    } finally {
      await engine.close();
    }
  });

  it("streams the verified answer", async function () {
    const stream = await openai.chat.completions.create({
      model: "stories260K",
      messages: [{ role: "user", content: "Lily" }],
      temperature: 0,
      max_tokens: 12,
      stream: true,
    });
    let content = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        content += choice.delta.content ?? "";
        finish = choice.finish_reason ?? finish;
      }
    }
    expect(content.length).to.be.greaterThan(0);
    expect(finish).to.be.oneOf(["stop", "length"]);
  });

  it("serves a chat page that gets a verified answer in headless Chromium", async function () {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await chatOnce(browser, devnet.manifest.bridge.url, devnet.manifest.bridge.apiKey, "Once upon a time", 60_000);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, "chat-page-devnet.png") });
      const receipt = (await page.locator(".message.answer .receipt").first().textContent())!;
      const taskId = BigInt(/task (\d+)/.exec(receipt)![1]!);
      const task = await conn.taskManager.getTask(taskId);
      expect(task.status).to.equal(TaskStatus.Succeeded);
      expect(receipt).to.contain(task.resultHash);
      for (const node of task.nodes) expect(receipt).to.contain(node);
    } finally {
      await browser?.close();
    }
  });

  it("serves the network explorer: the devnet's group, its nodes and the settled tasks with their timelines", async function () {
    const { url } = devnet.manifest.bridge;
    const snapshot = (await (await fetch(`${url}/v1/triad/network`)).json()) as NetworkSnapshot;
    // Governance adds the devnet's default card groups; only the RTX 4090 group has nodes here.
    const rtx = snapshot.groups.find((g) => g.cardModel === "NVIDIA GeForce RTX 4090");
    expect(rtx?.nodes).to.equal(3);
    expect(snapshot.groups.filter((g) => g !== rtx).every((g) => g.nodes === 0)).to.equal(true);
    expect(snapshot.nodes.map((n) => n.address).sort()).to.deep.equal(devnet.manifest.workers.map((w) => w.address).sort());
    for (const node of snapshot.nodes) expect(BigInt(node.stake)).to.equal(devnet.deployment.params.stakeAmount);
    const settled = snapshot.tasks.filter((t) => t.status === "succeeded");
    expect(settled.length, "the earlier requests' tasks").to.be.greaterThan(0);
    for (const task of settled) {
      const onChain = await conn.taskManager.getTask(BigInt(task.taskId));
      expect(task.resultHash).to.equal(onChain.resultHash);
      expect(Object.keys(task.timeline.commits)).to.have.length(3);
      expect(Object.keys(task.timeline.reveals)).to.have.length(3);
      expect(task.timeline.ended).to.be.at.least(task.timeline.created);
    }
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      await page.goto(`${url}/explorer`);
      await page.locator("#tasks tbody tr").first().waitFor({ timeout: 20_000 });
      expect(await page.locator("#nodes tbody tr").count()).to.equal(3);
      expect(await page.locator("#latency .point").count()).to.be.greaterThan(0);
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, "explorer-devnet.png"), fullPage: true });
    } finally {
      await browser?.close();
    }
  });

  describe("faults: nothing paid is lost", function () {
    const tasksOfBridge = async () => {
      const created = conn.taskManager.filters.TaskCreated(undefined, devnet.manifest.bridge.payer);
      return (await conn.taskManager.queryFilter(created, 0)).map((e) => e.args.taskId);
    };
    const until = async (condition: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const ask = (content: string, key: string, maxRetries = 2) => {
      const { apiKey, url } = devnet.manifest.bridge;
      return new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries }).chat.completions.create(
        { model: "stories260K", messages: [{ role: "user", content }], temperature: 0, max_tokens: 16 },
        { headers: { "Idempotency-Key": key } },
      );
    };

    it("answers a paid request across an 8 s relay outage, with one task", async function () {
      const before = (await tasksOfBridge()).length;
      const answer = ask("Outage: once upon a time", `outage-${Date.now()}`);
      await until(async () => (await tasksOfBridge()).length > before, "the task");
      await devnet.stopRelay();
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      await devnet.startRelay();
      const completion = await answer;
      const receipt = (completion as unknown as { triad: Receipt }).triad;
      expect((await conn.taskManager.getTask(BigInt(receipt.task_id))).resultHash).to.equal(receipt.result_hash);
      expect((await tasksOfBridge()).length - before, "one paid task").to.equal(1);
    });

    it("answers a request whose bridge was killed (-9) mid-request, after a restart, without paying twice", async function () {
      const before = (await tasksOfBridge()).length;
      const key = `kill-${Date.now()}`;
      const first = ask("Crash: once upon a time", key, 0).catch((error: Error) => error);
      await until(async () => (await tasksOfBridge()).length > before, "the task");
      await devnet.killBridge();
      expect(await first, "the connection died with the bridge").to.be.instanceOf(OpenAI.APIConnectionError);
      await devnet.startBridge();
      const completion = await ask("Crash: once upon a time", key);
      const receipt = (completion as unknown as { triad: Receipt }).triad;
      expect(BigInt(receipt.task_id)).to.equal((await tasksOfBridge()).at(-1));
      expect((await tasksOfBridge()).length - before, "the retry reused the paid task").to.equal(1);
    });
  });
});
