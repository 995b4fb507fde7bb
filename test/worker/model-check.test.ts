/**
 * Models pinned on chain, checked by the node (issue 12), with the real contracts and the real engine on a copy of
 * stories260K registered under its own id. The chain cannot see files: it only draws a task from groups that
 * enable its model (test/contracts/model-registry.test.ts). The worker's half is tested here: it verifies its
 * files against the registered digest before joining or resuming (ModelVerifier.verifyGroup: TriadWorker joins
 * only after it passes), and the engine compares them with the verified manifest before a task, so a node whose
 * file was changed never commits; a task document naming another model than the chain is an error result.
 */
import { expect } from "chai";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { ethers as ethersLib } from "ethers";
import pino from "pino";
import { saveDeployment } from "../../worker/chain/deployment.js";
import type { ClientConnection } from "../../worker/client/connection.js";
import { InvalidTaskError, submitTask, vramRequirement } from "../../worker/client/submit.js";
import { devAccount } from "../../worker/devnet/accounts.js";
import { GptEngine, computeManifest, encodeTask, manifestDigest } from "../../worker/engine/index.js";
import type { RelayClient } from "../../worker/relay/client.js";
import { ChainClient, type ChainProvider } from "../../worker/node/chain.js";
import { TaskJournal } from "../../worker/node/journal.js";
import { WorkerMetrics } from "../../worker/node/metrics.js";
import { ModelNotHeld, ModelVerifier } from "../../worker/node/model-check.js";
import { TaskHandler } from "../../worker/node/task-handler.js";
import { TriadWorker } from "../../worker/node/worker.js";
import { repoRoot } from "../../worker/paths.js";
import { CARD_4090, FEE, MODEL, NodeStatus, TaskStatus, connection, ethers, world, type World } from "../contracts/fixture.js";

const SOURCE = path.resolve(repoRoot, "..", "shared", "models", "stories260K");
const ID = "stories260K-pinned";
const FILES = [
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "onnx/model.onnx",
  "onnx/model_fp16.onnx",
];
/** Registered VRAM: fp32 (auto, config.json's choice) 2 GB, fp16 1 GB; q8, q4, q4f16 not offered. */
const VARIANT_VRAM: [number, number, number, number, number] = [2, 1, 0, 0, 0];

function taskBytes(model = ID): Uint8Array {
  return encodeTask({
    model,
    messages: [{ role: "user", content: "Once upon a time" }],
    seed: 7,
    generation_config: { max_new_tokens: 4 },
  });
}

/** The in-process chain over HTTP JSON-RPC (what a worker process connects to). */
async function serveChain(): Promise<{ url: string; close: () => Promise<void> }> {
  type Call = { id: unknown; method: string; params?: unknown[] };
  const answer = async (call: Call) => {
    try {
      return { jsonrpc: "2.0", id: call.id, result: await connection.provider.request({ method: call.method, params: call.params }) };
    } catch (error) {
      const e = error as { code?: number; message: string; data?: unknown };
      return { jsonrpc: "2.0", id: call.id, error: { code: e.code ?? -32603, message: e.message, data: e.data } };
    }
  };
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", async () => {
      const parsed = JSON.parse(body) as Call | Call[];
      const result = Array.isArray(parsed) ? await Promise.all(parsed.map(answer)) : await answer(parsed);
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify(result));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Changes one byte of a file, keeping its size (a tampered or corrupted download). */
function tamper(file: string): void {
  const bytes = readFileSync(file);
  bytes[bytes.length - 2] ^= 0x01;
  writeFileSync(file, bytes);
}

describe("worker: models pinned on chain (real contracts, real engine)", function () {
  this.timeout(120_000);
  let w: World;
  let modelsDir: string;
  let stateDir: string;
  let index: bigint;
  let taskId: bigint;
  let nodeIndex: number;

  beforeEach(async function () {
    w = await world();
    modelsDir = mkdtempSync(path.join(os.tmpdir(), "triad-models-"));
    stateDir = mkdtempSync(path.join(os.tmpdir(), "triad-handler-"));
    for (const file of FILES) {
      mkdirSync(path.dirname(path.join(modelsDir, ID, file)), { recursive: true });
      cpSync(path.join(SOURCE, file), path.join(modelsDir, ID, file));
    }
    const digest = manifestDigest(await computeManifest(path.join(modelsDir, ID)));
    await (await w.registry.registerModel(ID, "main", digest, VARIANT_VRAM, 0)).wait();
    index = await w.registry.modelIndexOf(ID);
    // Group 0 serves only this model (the fixture's stories260K has a made-up digest and no files here).
    await (await w.registry.disableModel(0, MODEL)).wait();
    await (await w.registry.enableModel(0, index)).wait();
    await w.join(w.nodeSigners.slice(0, 3));
    taskId = await w.create(16, FEE, ethersLib.keccak256(taskBytes()), index);
    await w.mineAndDispatch();
    const task = await w.taskManager.getTask(taskId);
    expect(task.status).to.equal(TaskStatus.Committing);
    nodeIndex = 4 + w.nodeSigners.findIndex((s) => s.address === task.nodes[0]);
  });
  afterEach(() => {
    rmSync(modelsDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  function nodeFor(args: Uint8Array, node = nodeIndex, dir = stateDir) {
    const log = pino({ level: "silent" });
    const metrics = new WorkerMetrics();
    const chain = new ChainClient(ethers.provider as unknown as ChainProvider, devAccount(node).privateKey, w.deployment, log, metrics);
    const models = new ModelVerifier(chain.registry, modelsDir, false, log, path.join(dir, "model-manifests"));
    const engine = new GptEngine({ modelsDir, logger: log, pinnedModel: (model) => models.pinned(model) });
    const relay = { getArgs: async () => args } as unknown as RelayClient;
    const handler = new TaskHandler({
      chain,
      journal: new TaskJournal(dir),
      engine,
      models,
      relay,
      metrics,
      log,
      faults: {},
      safetyMarginSeconds: 2,
      crash: () => {
        throw new Error("crash");
      },
    });
    return { handler, models, engine };
  }

  it("a node whose files match the registered digest verifies its group and commits the task", async function () {
    const { handler, models, engine } = nodeFor(taskBytes());
    const verified = await models.verifyGroup(0n);
    expect(verified.map((m) => m.id)).to.deep.equal([ID]);
    await handler.advance(taskId);
    expect((await w.taskManager.taskProgress(taskId)).committedMask).to.equal(1n);
    expect(new TaskJournal(stateDir).get(taskId)?.outcomeKind).to.equal("response");
    await engine.close();
  });

  it("a node lacking a model its group enables fails the check before joining, naming the model and the file", async function () {
    rmSync(path.join(modelsDir, ID, "tokenizer.json"));
    const { models } = nodeFor(taskBytes());
    const error = await models.verifyGroup(0n).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ModelNotHeld);
    expect((error as ModelNotHeld).model).to.equal(ID);
    expect((error as ModelNotHeld).file).to.equal("tokenizer.json");
  });

  it("a node with a tampered file never commits (a node fault naming the file), and is not slashed", async function () {
    const { handler, models, engine } = nodeFor(taskBytes());
    await models.verifyGroup(0n);
    tamper(path.join(modelsDir, ID, "onnx", "model.onnx"));
    await handler.advance(taskId);
    await handler.advance(taskId);
    expect((await w.taskManager.taskProgress(taskId)).committedMask, "no commitment").to.equal(0n);
    expect(new TaskJournal(stateDir).get(taskId), "no result journaled").to.equal(undefined);
    // Re-verifying (what the worker does before resuming) names the file that differs.
    const error = await models.verify(index).catch((e: unknown) => e);
    expect((error as ModelNotHeld).file).to.equal("onnx/model.onnx");
    expect((error as Error).message).to.match(/sha256 [0-9a-f]{64}, the manifest says/);
    // A restarted worker reads the manifest it verified from its state dir: it still names the file.
    const restarted = nodeFor(taskBytes());
    const again = await restarted.models.verifyGroup(0n).catch((e: unknown) => e);
    expect((again as ModelNotHeld).file).to.equal("onnx/model.onnx");
    // Without it (state dir lost), it still refuses, by digest.
    rmSync(path.join(stateDir, "model-manifests"), { recursive: true });
    const fresh = nodeFor(taskBytes());
    const byDigest = await fresh.models.verifyGroup(0n).catch((e: unknown) => e);
    expect((byDigest as ModelNotHeld).file).to.equal("(manifest)");
    const node = await w.registry.getNode((await w.taskManager.getTask(taskId)).nodes[0]);
    expect(node.stake, "stake intact").to.equal(await w.registry.stakeAmount());
    await engine.close();
  });

  it("a task document naming another model than the chain is a deterministic invalid_task result", async function () {
    const results = [];
    for (let run = 0; run < 2; run++) {
      rmSync(stateDir, { recursive: true, force: true });
      const { handler, models, engine } = nodeFor(taskBytes("stories260K"));
      await models.verifyGroup(0n);
      const outcome = await engine.runTask(taskBytes("stories260K"), ID);
      results.push(outcome);
      if (run === 0) await handler.advance(taskId);
      await engine.close();
    }
    expect(results[0]!.kind).to.equal("error");
    expect(results[0]!.canonicalJson).to.contain("invalid_task").and.contain(ID);
    expect(results[1]!.resultHash).to.equal(results[0]!.resultHash);
    expect((await w.taskManager.taskProgress(taskId)).committedMask, "the error result is committed").to.equal(1n);
  });

  it("a task whose minVramGb is below its variant's registered VRAM: every node commits the same invalid_task, nobody is slashed", async function () {
    // minVramGb 1 passes createTask (the smallest variant, fp16, needs 1 GB) but the task runs auto = fp32 (2 GB).
    await w.join(w.nodeSigners.slice(3, 6));
    const bytes = taskBytes();
    const underDeclared = await w.create(1, FEE, ethersLib.keccak256(bytes), index);
    await w.mineAndDispatch();
    const task = await w.taskManager.getTask(underDeclared);
    expect(task.status).to.equal(TaskStatus.Committing);
    const nodes = task.nodes.map((address) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "triad-node-"));
      return { address, dir, ...nodeFor(bytes, 4 + w.nodeSigners.findIndex((s) => s.address === address), dir) };
    });
    try {
      for (const node of nodes) await node.models.verifyGroup(0n);
      for (const node of nodes) await node.handler.advance(underDeclared); // compute and commit
      for (const node of nodes) await node.handler.advance(underDeclared); // reveal
      const results = nodes.map((node) => new TaskJournal(node.dir).get(underDeclared)!);
      expect(results.map((r) => r.outcomeKind)).to.deep.equal(["error", "error", "error"]);
      expect(new Set(results.map((r) => r.resultHash)).size, "the three nodes agree").to.equal(1);
      const document = new TextDecoder().decode(new TaskJournal(nodes[0]!.dir).result(underDeclared));
      expect(document).to.contain("invalid_task").and.contain("variant fp32 needs 2 GB").and.contain("minVramGb 1");
      const settled = await w.taskManager.getTask(underDeclared);
      expect(settled.status).to.equal(TaskStatus.Succeeded);
      expect(settled.resultHash).to.equal(results[0]!.resultHash);
      const stake = await w.registry.stakeAmount();
      for (const node of nodes) {
        const info = await w.registry.getNode(node.address);
        expect(info.stake, `${node.address} not slashed`).to.equal(stake);
        expect(info.status).to.equal(NodeStatus.Available);
      }
    } finally {
      for (const node of nodes) {
        await node.engine.close();
        rmSync(node.dir, { recursive: true, force: true });
      }
    }
  });

  it("a task selecting a variant the registry does not offer is a deterministic unsupported_variant result", async function () {
    const { models, engine } = nodeFor(taskBytes());
    const [registered] = await models.verifyGroup(0n);
    const q8 = encodeTask({ ...JSON.parse(new TextDecoder().decode(taskBytes())), quantize_bits: 8 });
    const onChain = { model: ID, minVramGb: 16, variants: registered!.variants };
    const first = await engine.runTask(q8, onChain);
    const second = await engine.runTask(q8, onChain);
    expect(first.kind).to.equal("error");
    expect(first.canonicalJson).to.contain("unsupported_variant").and.contain("offers no q8 variant");
    expect(second.resultHash).to.equal(first.resultHash);
    await engine.close();
  });

  it("the registered auto variant rules over config.json's (governance's figure is what every node reads)", async function () {
    const { models } = nodeFor(taskBytes());
    const [registered] = await models.verifyGroup(0n);
    // As if governance had registered fp16 as the auto variant while config.json names fp32.
    const pinned = { ...registered!, variants: { ...registered!.variants!, autoVariant: "fp16" as const } };
    const engine = new GptEngine({ modelsDir, logger: pino({ level: "silent" }), pinnedModel: () => pinned });
    const outcome = await engine.runTask(taskBytes(), { model: ID, minVramGb: 1, variants: pinned.variants });
    expect(outcome.kind).to.equal("response");
    expect(outcome.provenance.variant).to.equal("fp16");
    await engine.close();
  });

  it("the client asks for the VRAM of the task's variant by default, and refuses less or an unoffered variant", async function () {
    const conn = { registry: w.registry } as unknown as ClientConnection;
    const document = JSON.parse(new TextDecoder().decode(taskBytes())) as Record<string, unknown>;
    expect((await vramRequirement(conn, document)).vramGb, "auto = fp32").to.equal(2);
    expect((await vramRequirement(conn, { ...document, dtype: "float16" })).vramGb).to.equal(1);
    const q4 = await vramRequirement(conn, { ...document, quantize_bits: 4 }).catch((e: unknown) => e);
    expect(q4).to.be.instanceOf(InvalidTaskError);
    expect((q4 as InvalidTaskError).field).to.equal("$.quantize_bits");
    expect((q4 as Error).message).to.contain("selects the q4 variant, which the registered model stories260K-pinned does not offer");
    const bf16 = await vramRequirement(conn, { ...document, dtype: "bfloat16" }).catch((e: unknown) => e);
    expect((bf16 as InvalidTaskError).field).to.equal("$.dtype");
    const full = { ...conn, taskManager: w.taskManager } as unknown as ClientConnection;
    const below = await submitTask(full, document, { minVramGb: 1 }).catch((e: unknown) => e);
    expect((below as Error).message).to.contain("minVramGb 1 is below the 2 GB the fp32 variant of stories260K-pinned needs");
  });

  it("the client refuses a task naming an unregistered model before creating anything", async function () {
    const conn = { registry: w.registry, taskManager: w.taskManager } as unknown as ClientConnection;
    const error = await submitTask(conn, JSON.parse(new TextDecoder().decode(taskBytes("not-registered")))).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InvalidTaskError);
    expect((error as Error).message).to.contain('$.model: "not-registered" is not a registered model');
  });

  describe("the worker process logic (TriadWorker over JSON-RPC)", function () {
    async function startWorker() {
      const chain = await serveChain();
      const worker = new TriadWorker({
        rpcUrl: chain.url,
        privateKey: devAccount(4 + 5).privateKey, // a funded node signer that has not joined
        relayUrl: "http://127.0.0.1:9",
        deployment: saveDeployment(w.deployment, path.join(stateDir, "deployments")),
        stateDir: path.join(stateDir, "worker"),
        cardModel: CARD_4090,
        vramGb: 24,
        modelsDir,
        allowRemoteModels: false,
        device: "cpu",
        threads: 1,
        preload: [],
        pollIntervalMs: 200,
        safetyMarginSeconds: 2,
        onShutdown: "pause",
        logLevel: "fatal",
        faults: {},
      });
      return { worker, chain, address: ethersLib.computeAddress(devAccount(4 + 5).privateKey) };
    }

    it("never joins a group whose models it lacks (the error names the model, the local and the registered digest)", async function () {
      tamper(path.join(modelsDir, ID, "tokenizer.json"));
      const { worker, chain, address } = await startWorker();
      const error = await worker.start().catch((e: unknown) => e as Error);
      await chain.close();
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message)
        .to.contain(`model ${ID}`)
        .and.contain("not joining")
        .and.match(/hash to 0x[0-9a-f]{64}, registered 0x/);
      expect((await w.registry.getNode(address)).status).to.equal(NodeStatus.None);
    });

    it("joins once it holds every model its group enables", async function () {
      const { worker, chain, address } = await startWorker();
      await worker.start();
      expect((await w.registry.getNode(address)).status).to.equal(NodeStatus.Available);
      await worker.stop();
      await chain.close();
      expect((await w.registry.getNode(address)).status).to.equal(NodeStatus.Paused);
    });
  });
});
