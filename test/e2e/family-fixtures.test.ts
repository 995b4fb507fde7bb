import { expect } from "chai";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClientConnection } from "../../worker/client/connection.js";
import { waitForResult } from "../../worker/client/result.js";
import { submitTask, type SubmittedTask } from "../../worker/client/submit.js";
import { TaskStatus } from "../../worker/chain/enums.js";
import { connectDevnet } from "../../worker/devnet/client.js";
import { startDevnet, type Devnet } from "../../worker/devnet/devnet.js";
import { DEVNET_MODEL_REVISION, FAMILY_FIXTURE_REVISION, writeFixtureModelsDir } from "../../worker/devnet/models.js";
import { computeManifest, encodeTask, manifestDigest } from "../../worker/engine/index.js";
import { FAMILIES, makeFamilyFixture } from "../../worker/engine/fixtures/family-fixtures.js";
import { defaultModelsDir } from "../../worker/paths.js";
import { expectSucceeded } from "./expectations.js";
import { runTriad, tempStateDir } from "./helpers.js";

const TASK_TIMEOUT_MS = 240_000;
const CARD = { cardModel: "NVIDIA H100 80GB HBM3", vramGb: 80 };

/** One chat task per family: sampled (the seed decides every draw), a few tokens. */
function chatTask(model: string): object {
  return {
    model,
    messages: [{ role: "user", content: "Hello, who are you?" }],
    seed: 7,
    generation_config: { max_new_tokens: 4, do_sample: true, top_k: 40, temperature: 0.9 },
  };
}

/**
 * One devnet with `familyFixtures` (the option behind `triad devnet --family-fixtures`) and one group of three
 * workers: every family fixture is registered on chain next to stories260K, enabled on the group, and answered
 * through client submit -> three workers -> consensus -> the result verified against the on-chain resultHash.
 */
describe("e2e: the model-family fixtures through the devnet", function () {
  this.timeout(600_000);
  let stateDir: string;
  let rewrittenDir: string;
  let devnet: Devnet;
  let conn: ClientConnection;
  const workerExits: string[] = [];

  before(async function () {
    stateDir = tempStateDir("families");
    rewrittenDir = mkdtempSync(path.join(os.tmpdir(), "triad-e2e-families-rewritten-"));
    devnet = await startDevnet({
      stateDir,
      familyFixtures: true,
      groups: [{ ...CARD, count: 3 }],
      cardGroups: [CARD],
      onWorkerExit: (name, exit) => workerExits.push(`${name}: code ${exit.code}, signal ${exit.signal}`),
    });
    conn = await connectDevnet(stateDir);
  });

  after(async function () {
    conn?.close();
    await devnet?.stop();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(rewrittenDir, { recursive: true, force: true });
    expect(workerExits, "workers that exited unasked").to.deep.equal([]);
  });

  it("registers each fixture (the digest of the same bytes written anew) and stories260K (a link to the original)", async function () {
    const { modelsDir } = devnet.manifest;
    expect(modelsDir).to.equal(path.join(stateDir, "models"));
    const registry = conn.registry;
    const [enabled] = await registry.groupModels(0n);
    for (const fixture of FAMILIES) {
      const index = await registry.modelIndexOf(fixture.name);
      const entry = await registry.getModel(index);
      // Written again in another folder: the fixed seed gives the same files, so the same registered digest.
      const again = manifestDigest(await computeManifest(await makeFamilyFixture(fixture, rewrittenDir)));
      expect(entry.digest, fixture.name).to.equal(again);
      expect(entry.revision).to.equal(FAMILY_FIXTURE_REVISION);
      expect(lstatSync(path.join(modelsDir, fixture.name)).isDirectory(), `${fixture.name} is written, not linked`).to.equal(true);
      expect((enabled >> index) & 1n, `${fixture.name} enabled on the group`).to.equal(1n);
    }
    const stories = path.join(modelsDir, "stories260K");
    expect(lstatSync(stories).isSymbolicLink()).to.equal(true);
    expect(readlinkSync(stories)).to.equal(path.join(defaultModelsDir(), "stories260K"));
    const storiesEntry = await registry.getModel(await registry.modelIndexOf("stories260K"));
    expect(storiesEntry.revision).to.equal(DEVNET_MODEL_REVISION);
    expect(storiesEntry.digest).to.equal(manifestDigest(await computeManifest(path.join(defaultModelsDir(), "stories260K"))));
    expect(devnet.manifest.models.map((m) => m.id)).to.deep.equal(["stories260K", ...FAMILIES.map((f) => f.name)]);
  });

  it("the devnet bridge's /v1/models lists each registered fixture with its revision", async function () {
    const response = await fetch(`${devnet.manifest.bridge.url}/v1/models`, {
      headers: { authorization: `Bearer ${devnet.manifest.bridge.apiKey}` },
    });
    expect(response.status).to.equal(200);
    const { data } = (await response.json()) as { data: Array<{ id: string; revision?: string }> };
    const listed = new Map(data.map((m) => [m.id, m.revision]));
    expect(listed.get("stories260K")).to.equal(DEVNET_MODEL_REVISION);
    for (const fixture of FAMILIES) expect(listed.get(fixture.name), fixture.name).to.equal(FAMILY_FIXTURE_REVISION);
    expect(data).to.have.length(FAMILIES.length + 1);
  });

  it("a chat task per family: three workers agree, and the verified answer is byte-identical to `triad run-task`'s", async function () {
    const submitted: Array<{ name: string; task: object; sent: SubmittedTask }> = [];
    for (const fixture of FAMILIES) {
      const task = chatTask(fixture.name);
      submitted.push({ name: fixture.name, task, sent: await submitTask(conn, task) });
    }
    for (const { name, task, sent } of submitted) {
      const result = await waitForResult(conn, sent.taskId, { timeoutMs: TASK_TIMEOUT_MS });
      expectSucceeded(result);
      const onChain = await conn.taskManager.getTask(sent.taskId);
      expect(onChain.status).to.equal(TaskStatus.Succeeded);
      expect(onChain.model, name).to.equal(await conn.registry.modelIndexOf(name));
      expect(
        result.reveals.map((r) => r.resultHash),
        `${name}: the three reveals`,
      ).to.deep.equal([onChain.resultHash, onChain.resultHash, onChain.resultHash]);
      const document = result.document as { model?: string; choices?: unknown[]; error?: unknown };
      expect(document.error, `${name} answered, not an error outcome`).to.equal(undefined);
      expect(document.model).to.equal(name);

      // The same task document, run by `triad run-task` in its own process on the devnet's models folder.
      const file = path.join(stateDir, `${name}-task.json`);
      writeFileSync(file, encodeTask(task));
      const local = await runTriad(["run-task", file, "--models-dir", devnet.manifest.modelsDir]);
      expect(local.code, local.stderr).to.equal(0);
      expect(local.stdout).to.equal(`${new TextDecoder().decode(result.bytes)}\n`);
      expect(local.stderr).to.contain(`resultHash ${onChain.resultHash}`);
    }
  });
});

describe("devnet: the folder of models with the family fixtures", function () {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "triad-fixture-models-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a models dir that already holds a fixture's name, writing nothing", async function () {
    const source = path.join(dir, "source");
    mkdirSync(path.join(source, FAMILIES[0]!.name), { recursive: true });
    const target = path.join(dir, "target");
    let error: Error | undefined;
    await writeFixtureModelsDir(source, target).catch((e: Error) => (error = e));
    expect(error?.message).to.contain(`already holds "${FAMILIES[0]!.name}"`);
    expect(readdirSync(target)).to.deep.equal([]);
  });

  it("refuses a target folder that is not empty", async function () {
    const target = path.join(dir, "target");
    mkdirSync(path.join(target, "leftover"), { recursive: true });
    let error: Error | undefined;
    await writeFixtureModelsDir(defaultModelsDir(), target).catch((e: Error) => (error = e));
    expect(error?.message).to.contain("must be empty");
  });
});
