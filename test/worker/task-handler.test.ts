import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers as ethersLib } from "ethers";
import pino from "pino";
import { devAccount } from "../../worker/devnet/accounts.js";
import { EngineFault, GptEngine, type TaskOutcome } from "../../worker/engine/index.js";
import { defaultModelsDir } from "../../worker/paths.js";
import { ContractRefusal } from "../../worker/chain/revert.js";
import { RelayError } from "../../worker/relay/errors.js";
import type { RelayClient } from "../../worker/relay/client.js";
import { ChainClient, type ChainProvider } from "../../worker/node/chain.js";
import type { WorkerFaults } from "../../worker/node/config.js";
import { TaskJournal } from "../../worker/node/journal.js";
import { WorkerMetrics } from "../../worker/node/metrics.js";
import { TaskHandler } from "../../worker/node/task-handler.js";
import { COMMIT_WINDOW, FEE, STAKE, TaskStatus, AbortReason, ethers, networkHelpers, world, type World } from "../contracts/fixture.js";

const RESULT_JSON = '{"choices":[],"model":"m","usage":{}}';
const RESULT_HASH = ethersLib.keccak256(ethersLib.toUtf8Bytes(RESULT_JSON)) as `0x${string}`;

/** An engine that always answers RESULT_JSON (or, with `fault`, fails as a crashing task would), counting its runs. */
function fakeEngine(fault?: EngineFault) {
  const engine = {
    runs: 0,
    async runTask(): Promise<TaskOutcome> {
      engine.runs += 1;
      if (fault) throw fault;
      return {
        kind: "response",
        document: JSON.parse(RESULT_JSON),
        canonicalJson: RESULT_JSON,
        resultHash: RESULT_HASH,
        metrics: { inferenceSeconds: 0.01, promptTokens: 1, completionTokens: 1 },
        provenance: {},
      };
    },
  };
  return engine;
}

/** A relay holding the arguments (or not yet) and recording uploaded results. */
function fakeRelay(argsAvailable = true, args = "{}") {
  const relay = {
    argsAvailable,
    uploads: [] as Array<{ taskId: bigint; text: string }>,
    async getArgs(): Promise<Uint8Array> {
      if (!relay.argsAvailable) throw new RelayError(404, "not_found", "no args yet");
      return new TextEncoder().encode(args);
    },
    async putResult(taskId: bigint, bytes: Uint8Array) {
      relay.uploads.push({ taskId, text: new TextDecoder().decode(bytes) });
      return { taskId: String(taskId), kind: "result", hash: RESULT_HASH, bytes: bytes.length, created: true };
    },
  };
  return relay;
}

describe("worker task handler (real contracts, in-process chain)", function () {
  let w: World;
  let stateDir: string;
  let taskId: bigint;
  let nodeIndex: number;

  beforeEach(async function () {
    w = await world();
    stateDir = mkdtempSync(path.join(os.tmpdir(), "triad-handler-"));
    await w.join(w.nodeSigners.slice(0, 3));
    ({ taskId } = await w.started());
    const task = await w.taskManager.getTask(taskId);
    // The fixture's node signers are Hardhat's dev accounts from index 4 on.
    nodeIndex = 4 + w.nodeSigners.findIndex((s) => s.address === task.nodes[0]);
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  function handlerFor(
    options: {
      engine?: ReturnType<typeof fakeEngine>;
      realEngine?: GptEngine;
      relay?: ReturnType<typeof fakeRelay>;
      faults?: WorkerFaults;
    } = {},
  ) {
    const metrics = new WorkerMetrics();
    const log = pino({ level: "silent" });
    const chain = new ChainClient(
      ethers.provider as unknown as ChainProvider,
      devAccount(nodeIndex).privateKey,
      w.deployment,
      log,
      metrics,
    );
    const engine = options.engine ?? fakeEngine();
    const relay = options.relay ?? fakeRelay();
    const handler = new TaskHandler({
      chain,
      journal: new TaskJournal(stateDir),
      engine: options.realEngine ?? (engine as unknown as GptEngine),
      models: { ensure: async (index: bigint) => ({ index, id: "stories260K", digest: ethersLib.ZeroHash as `0x${string}` }) },
      relay: relay as unknown as RelayClient,
      metrics,
      log,
      faults: options.faults ?? {},
      safetyMarginSeconds: 2,
      crash: () => {
        throw new Error("crash");
      },
    });
    return { handler, engine, relay, chain };
  }

  async function othersCommitAndReveal(result = RESULT_HASH) {
    const task = await w.taskManager.getTask(taskId);
    const others = task.nodes.slice(1).map(w.signerOf);
    const seals: Array<{ salt: string; commitment: string }> = [];
    for (const node of others) {
      const seal = await w.sealFor(taskId, node, result);
      await w.taskManager.connect(node).commit(taskId, seal.commitment);
      seals.push(seal);
    }
    return async () => {
      for (const [i, node] of others.entries()) await w.taskManager.connect(node).reveal(taskId, result, seals[i]!.salt);
    };
  }

  it("commits, reveals what it journaled after a restart, uploads the agreed result and is paid", async function () {
    const first = handlerFor();
    await first.handler.advance(taskId);
    expect((await w.taskManager.taskProgress(taskId)).committedMask).to.equal(1n);
    expect(first.engine.runs).to.equal(1);

    const revealOthers = await othersCommitAndReveal();
    expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Revealing);
    // A new process: nothing but the state dir survives.
    const restarted = handlerFor();
    await restarted.handler.advance(taskId);
    expect((await w.taskManager.taskProgress(taskId)).revealedMask).to.equal(1n);
    expect(restarted.engine.runs, "no second inference").to.equal(0);

    await revealOthers();
    expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Succeeded);
    await restarted.handler.advance(taskId);
    expect(restarted.relay.uploads).to.deep.equal([{ taskId, text: RESULT_JSON }]);
    expect(new TaskJournal(stateDir).get(taskId)?.ending).to.equal("won");
    expect(new TaskJournal(stateDir).unfinished()).to.deep.equal([]);
    expect(new TaskJournal(stateDir).hasResult(taskId), "uploaded results are not kept").to.equal(false);
  });

  it("after a crash between journaling and committing, commits the journaled salt without running the task again", async function () {
    const salt = ethersLib.hexlify(ethersLib.randomBytes(32));
    await new TaskJournal(stateDir).create(
      {
        taskId: String(taskId),
        argsHash: ethersLib.id("args"),
        committedHash: RESULT_HASH,
        resultHash: RESULT_HASH,
        salt,
        outcomeKind: "response",
      },
      new TextEncoder().encode(RESULT_JSON),
    );
    const { handler, engine, chain } = handlerFor();
    await handler.advance(taskId);
    expect(engine.runs).to.equal(0);
    const revealOthers = await othersCommitAndReveal();
    // The commitment on-chain opens with the journaled salt: the reveal goes through.
    await handler.advance(taskId);
    expect((await w.taskManager.taskProgress(taskId)).revealedMask).to.equal(1n);
    await revealOthers();
    expect((await w.taskManager.getTask(taskId)).resultHash).to.equal(RESULT_HASH);
    expect(chain.address).to.equal((await w.taskManager.getTask(taskId)).nodes[0]);
  });

  it("after the contract refuses its commit, journals a fresh salt and commits with it next pass (and reveals with it)", async function () {
    const { handler, chain } = handlerFor();
    const execute = chain.execute.bind(chain);
    const journal = () => new TaskJournal(stateDir).get(taskId)!;
    let refusals = 0;
    let refusedSalt = "";
    chain.execute = async (action, call) => {
      if (action === "commit" && refusals === 0) {
        refusals += 1;
        refusedSalt = journal().salt;
        throw new ContractRefusal("commit", "CommitmentTaken (a copied commitment mined first)");
      }
      return execute(action, call);
    };
    await handler.advance(taskId);
    expect(refusals).to.equal(1);
    expect((await w.taskManager.taskProgress(taskId)).committedMask, "nothing committed yet").to.equal(0n);
    expect(journal().salt, "a fresh salt is journaled at once").to.not.equal(refusedSalt);

    await handler.advance(taskId);
    expect((await w.taskManager.taskProgress(taskId)).committedMask).to.equal(1n);
    expect(journal().committed).to.equal(true);
    expect(journal().salt, "the salt of the refused attempt is not reused").to.not.equal(refusedSalt);
    const revealOthers = await othersCommitAndReveal();
    await handler.advance(taskId);
    expect((await w.taskManager.taskProgress(taskId)).revealedMask, "the on-chain commitment opens with the journaled salt").to.equal(1n);
    await revealOthers();
    expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Succeeded);
  });

  it("never commits after the commit deadline: it expires the task instead, and nobody is slashed", async function () {
    const { handler, engine } = handlerFor();
    await networkHelpers.time.increase(COMMIT_WINDOW + 1);
    await handler.advance(taskId);
    const task = await w.taskManager.getTask(taskId);
    expect(task.status).to.equal(TaskStatus.Aborted);
    expect(task.abortReason).to.equal(AbortReason.TooFewCommitments);
    expect((await w.taskManager.taskProgress(taskId)).committedMask).to.equal(0n);
    expect(engine.runs, "no inference for a task it can no longer commit").to.equal(0);
  });

  it("a task that makes the engine fault on every node: retried, never committed, then refunded with nobody slashed", async function () {
    const { handler, engine } = handlerFor({ engine: fakeEngine(new EngineFault("unexpected engine failure: out of memory")) });
    const balanceBefore = await w.token.balanceOf(w.creator.address);
    await handler.advance(taskId);
    await handler.advance(taskId);
    expect(engine.runs, "a node fault is retried on the next pass").to.equal(2);
    expect((await w.taskManager.taskProgress(taskId)).committedMask).to.equal(0n);
    // The two other nodes fault alike (they run the same engine on the same bytes) and commit nothing either.
    await networkHelpers.time.increase(COMMIT_WINDOW + 1);
    await handler.advance(taskId);
    const task = await w.taskManager.getTask(taskId);
    expect(task.status).to.equal(TaskStatus.Aborted);
    expect(task.abortReason).to.equal(AbortReason.TooFewCommitments);
    for (const node of task.nodes) expect((await w.registry.getNode(node)).stake).to.equal(STAKE);
    expect((await w.token.balanceOf(w.creator.address)) - balanceBefore, "the fee comes back").to.equal(FEE);
  });

  it("a document that used to crash the engine everywhere (a lone surrogate) is committed as an invalid_task result", async function () {
    const args = '{"model":"stories260K","messages":[{"role":"user","content":"x\\ud800"}],"seed":1}';
    const engine = new GptEngine({ modelsDir: defaultModelsDir() });
    try {
      const { handler } = handlerFor({ realEngine: engine, relay: fakeRelay(true, args) });
      await handler.advance(taskId);
      const task = await w.taskManager.getTask(taskId);
      const index = task.nodes.findIndex((node) => node.toLowerCase() === devAccount(nodeIndex).address.toLowerCase());
      expect((await w.taskManager.taskProgress(taskId)).committedMask & (1n << BigInt(index))).to.not.equal(0n);
      expect(new TaskJournal(stateDir).get(taskId)?.outcomeKind).to.equal("error");
      expect(new TextDecoder().decode(new TaskJournal(stateDir).result(taskId))).to.include(
        "$.messages[0].content: must be well-formed Unicode",
      );
    } finally {
      await engine.close();
    }
  });

  it("sends nothing within the safety margin before the deadline", async function () {
    const { handler } = handlerFor();
    const deadline = (await w.taskManager.getTask(taskId)).deadline;
    await networkHelpers.time.setNextBlockTimestamp(deadline - 1n);
    await networkHelpers.mine(1);
    await handler.advance(taskId);
    const task = await w.taskManager.getTask(taskId);
    expect(task.status).to.equal(TaskStatus.Committing);
    expect((await w.taskManager.taskProgress(taskId)).committedMask).to.equal(0n);
  });

  it("waits for arguments not yet on the relay, then commits", async function () {
    const relay = fakeRelay(false);
    const { handler, engine } = handlerFor({ relay });
    await handler.advance(taskId);
    expect(engine.runs).to.equal(0);
    expect((await w.taskManager.taskProgress(taskId)).committedMask).to.equal(0n);
    relay.argsAvailable = true;
    await handler.advance(taskId);
    expect((await w.taskManager.taskProgress(taskId)).committedMask).to.equal(1n);
  });

  it("with the wrongResult fault it commits another hash, loses, and uploads nothing", async function () {
    const { handler, relay } = handlerFor({ faults: { wrongResult: true } });
    await handler.advance(taskId);
    const revealOthers = await othersCommitAndReveal();
    await handler.advance(taskId);
    await revealOthers();
    const task = await w.taskManager.getTask(taskId);
    expect(task.status).to.equal(TaskStatus.Succeeded);
    expect(task.resultHash).to.equal(RESULT_HASH);
    await handler.advance(taskId);
    expect(relay.uploads).to.deep.equal([]);
    expect(new TaskJournal(stateDir).get(taskId)?.ending).to.equal("lost");
    expect(new TaskJournal(stateDir).hasResult(taskId), "a lost result is kept for diagnosis").to.equal(true);
  });

  it("after the reveal deadline it sends no late reveal and expires the task", async function () {
    const { handler } = handlerFor();
    await handler.advance(taskId);
    await othersCommitAndReveal();
    const revealDeadline = (await w.taskManager.getTask(taskId)).deadline;
    await networkHelpers.time.setNextBlockTimestamp(revealDeadline + 1n);
    await networkHelpers.mine(1);
    await handler.advance(taskId);
    // Nobody revealed in time: the handler expired the task (too few reveals), without sending its late reveal.
    const task = await w.taskManager.getTask(taskId);
    expect(task.status).to.equal(TaskStatus.Aborted);
    expect(task.abortReason).to.equal(AbortReason.TooFewReveals);
    expect((await w.taskManager.taskProgress(taskId)).revealedMask).to.equal(0n);
  });
});
