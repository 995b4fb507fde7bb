import { AbiCoder, hexlify, keccak256, randomBytes, toUtf8Bytes } from "ethers";
import type pino from "pino";
import { RelayError } from "../relay/errors.js";
import type { RelayClient } from "../relay/client.js";
import { TaskStatus } from "../chain/enums.js";
import { EngineFault, type GptEngine } from "../engine/index.js";
import { ContractRefusal } from "../chain/revert.js";
import type { ChainClient } from "./chain.js";
import type { WorkerFaults } from "./config.js";
import type { TaskJournal, TaskEnding, TaskRecord } from "./journal.js";
import type { WorkerMetrics } from "./metrics.js";
import { ModelNotHeld, type ModelVerifier } from "./model-check.js";

export interface TaskHandlerDeps {
  chain: ChainClient;
  journal: TaskJournal;
  engine: GptEngine;
  /** The registry's models, verified against the local files (ModelVerifier). */
  models: Pick<ModelVerifier, "ensure">;
  relay: RelayClient;
  metrics: WorkerMetrics;
  log: pino.Logger;
  faults: WorkerFaults;
  /** No commit or reveal is sent when the next block could be this close to the phase deadline. */
  safetyMarginSeconds: number;
  /** Called after the commit of a worker with the exitAfterCommit fault (a crash on purpose). */
  crash: () => never;
}

interface ChainTask {
  status: bigint;
  deadline: bigint;
  argsHash: string;
  model: bigint;
  minVramGb: bigint;
  resultHash: string;
  nodes: string[];
}

/** Where this node stands in one task, read fresh from the chain. */
interface Standing {
  task: ChainTask;
  index: number;
  committed: boolean;
  revealed: boolean;
}

/**
 * Moves one task forward by at most one step per call, from chain state and the journal alone, so that it
 * can be called again after any failure or restart: fetch and run, commit, reveal, upload, record the ending.
 */
export class TaskHandler {
  constructor(private readonly deps: TaskHandlerDeps) {}

  /** Whether the node still has a commit or reveal to make in this task. */
  async owesAction(taskId: bigint): Promise<boolean> {
    const standing = await this.#standing(taskId);
    if (!standing) return false;
    const { task, committed, revealed } = standing;
    return (task.status === TaskStatus.Committing && !committed) || (task.status === TaskStatus.Revealing && committed && !revealed);
  }

  async advance(taskId: bigint): Promise<void> {
    const standing = await this.#standing(taskId);
    if (!standing) {
      await this.#end(taskId, "missed", "this node is not one of the task's nodes");
      return;
    }
    const { task, committed, revealed } = standing;
    switch (task.status) {
      case TaskStatus.Committing:
        if (!committed) await this.#commit(taskId, task);
        else await this.#expireIfDue(taskId, task);
        return;
      case TaskStatus.Revealing:
        if (committed && !revealed) await this.#reveal(taskId, task);
        else await this.#expireIfDue(taskId, task);
        return;
      case TaskStatus.Succeeded:
        await this.#settled(taskId, task, revealed);
        return;
      case TaskStatus.Aborted:
        await this.#end(taskId, "aborted", "the task was aborted");
        return;
      default:
        this.deps.log.warn({ taskId: String(taskId), status: String(task.status) }, "task is not started; nothing to do");
    }
  }

  async #standing(taskId: bigint): Promise<Standing | undefined> {
    const { taskManager, address } = this.deps.chain;
    const [info, progress] = await Promise.all([taskManager.getTask(taskId), taskManager.taskProgress(taskId)]);
    const task: ChainTask = {
      status: info.status,
      deadline: info.deadline,
      argsHash: info.argsHash,
      model: info.model,
      minVramGb: info.minVramGb,
      resultHash: info.resultHash,
      nodes: [...info.nodes],
    };
    const index = task.nodes.findIndex((node) => node.toLowerCase() === address.toLowerCase());
    if (index < 0) return undefined;
    const bit = 1 << index;
    return { task, index, committed: (Number(progress.committedMask) & bit) !== 0, revealed: (Number(progress.revealedMask) & bit) !== 0 };
  }

  async #commit(taskId: bigint, task: ChainTask): Promise<void> {
    const log = this.deps.log.child({ taskId: String(taskId) });
    if (!(await this.#inTime(taskId, task))) return;
    const record = this.deps.journal.get(taskId) ?? (await this.#compute(taskId, task));
    if (!record) return;
    if (this.deps.faults.delayMs) {
      log.warn({ delayMs: this.deps.faults.delayMs }, "fault delayMs: waiting before the commit");
      await new Promise((resolve) => setTimeout(resolve, this.deps.faults.delayMs));
    }
    if (this.deps.faults.skipCommit) {
      log.warn("fault skipCommit: not committing");
      return;
    }
    // Inference can take a while: check the deadline again with the time the transaction would land.
    if (!(await this.#inTime(taskId, task))) return;
    const commitment = commitmentOf(taskId, this.deps.chain.address, record.committedHash, record.salt);
    const tm = this.deps.chain.taskManager;
    try {
      await this.deps.chain.execute("commit", {
        simulate: () => tm.commit.staticCall(taskId, commitment),
        send: () => tm.commit(taskId, commitment),
      });
    } catch (error) {
      this.#refused(log, error);
      // Whatever another transaction did (a copied commitment, a race), the next attempt must not be refused
      // for the same reason: commit a fresh salt (nothing was committed on-chain with the old one).
      if (!(await this.#standing(taskId))?.committed) await this.deps.journal.update(taskId, { salt: hexlify(randomBytes(32)) });
      return;
    }
    await this.deps.journal.update(taskId, { committed: true });
    if (this.deps.faults.exitAfterCommit) {
      log.warn("fault exitAfterCommit: exiting right after the commit");
      this.deps.crash();
    }
  }

  /** Fetches and verifies the arguments, runs the engine, and journals salt and result before any commit. */
  async #compute(taskId: bigint, task: ChainTask): Promise<TaskRecord | undefined> {
    const log = this.deps.log.child({ taskId: String(taskId) });
    let args: Uint8Array;
    try {
      args = await this.deps.relay.getArgs(taskId, task.argsHash);
    } catch (error) {
      if (error instanceof RelayError && error.status === 404) {
        log.info("the task's arguments are not on the relay yet; waiting");
        return undefined;
      }
      throw error;
    }
    let outcome: Awaited<ReturnType<GptEngine["runTask"]>>;
    try {
      // A node whose files differ from the registered digest does not commit: a node fault, never a result.
      const registered = await this.deps.models.ensure(task.model);
      outcome = await this.deps.engine.runTask(args, {
        model: registered.id,
        minVramGb: Number(task.minVramGb),
        variants: registered.variants,
      });
    } catch (error) {
      if (!(error instanceof ModelNotHeld || error instanceof EngineFault)) throw error;
      log.error({ model: String(task.model), err: error.message }, "node fault: not committing (fix the model files; retried next pass)");
      return undefined;
    }
    const { metrics } = this.deps;
    metrics.results.inc({ kind: outcome.kind });
    metrics.inferenceSeconds.observe(outcome.metrics.inferenceSeconds);
    if (outcome.metrics.completionTokens > 0 && outcome.metrics.inferenceSeconds > 0) {
      metrics.tokensPerSecond.set(outcome.metrics.completionTokens / outcome.metrics.inferenceSeconds);
    }
    const committedHash = this.deps.faults.wrongResult ? keccak256(toUtf8Bytes(`wrong:${outcome.resultHash}`)) : outcome.resultHash;
    if (this.deps.faults.wrongResult) log.warn("fault wrongResult: committing a hash that is not the result's");
    const record: TaskRecord = {
      taskId: String(taskId),
      argsHash: task.argsHash,
      committedHash,
      resultHash: outcome.resultHash,
      salt: hexlify(randomBytes(32)),
      outcomeKind: outcome.kind,
    };
    await this.deps.journal.create(record, new TextEncoder().encode(outcome.canonicalJson));
    log.info({ kind: outcome.kind, resultHash: outcome.resultHash, seconds: outcome.metrics.inferenceSeconds }, "task computed");
    return record;
  }

  async #reveal(taskId: bigint, task: ChainTask): Promise<void> {
    const log = this.deps.log.child({ taskId: String(taskId) });
    const record = this.deps.journal.get(taskId);
    if (!record) {
      log.error("committed on-chain but the journal has no record (was the state dir lost?): cannot reveal");
      return;
    }
    if (this.deps.faults.skipReveal) {
      log.warn("fault skipReveal: not revealing");
      return;
    }
    if (!(await this.#inTime(taskId, task))) return;
    const tm = this.deps.chain.taskManager;
    try {
      await this.deps.chain.execute("reveal", {
        simulate: () => tm.reveal.staticCall(taskId, record.committedHash, record.salt),
        send: () => tm.reveal(taskId, record.committedHash, record.salt),
      });
    } catch (error) {
      return this.#refused(log, error);
    }
    await this.deps.journal.update(taskId, { committed: true, revealed: true });
  }

  /** A winner uploads the agreed result (the relay accepts it once the task Succeeded); then the task is done. */
  async #settled(taskId: bigint, task: ChainTask, revealed: boolean): Promise<void> {
    const record = this.deps.journal.get(taskId);
    const won = record !== undefined && revealed && task.resultHash === record.committedHash;
    if (!won) {
      await this.#end(taskId, "lost", `the agreed result ${task.resultHash} is not this node's`);
      return;
    }
    if (!record.uploaded) {
      try {
        const receipt = await this.deps.relay.putResult(taskId, this.deps.journal.result(taskId));
        this.deps.log.info({ taskId: String(taskId), created: receipt.created }, "result uploaded to the relay");
      } catch (error) {
        // 4xx other than a transient state will not change on retry; 5xx and network errors are retried next tick.
        if (!(error instanceof RelayError && error.status >= 400 && error.status < 500)) throw error;
        this.deps.log.error({ taskId: String(taskId), err: error.message }, "the relay refused the result");
      }
      await this.deps.journal.update(taskId, { uploaded: true });
    }
    await this.#end(taskId, "won", "paid");
  }

  async #expireIfDue(taskId: bigint, task: ChainTask): Promise<void> {
    if (BigInt(await this.deps.chain.chainTime()) <= task.deadline) return;
    const tm = this.deps.chain.taskManager;
    try {
      await this.deps.chain.execute("expire", { simulate: () => tm.expire.staticCall(taskId), send: () => tm.expire(taskId) });
    } catch (error) {
      this.#refused(this.deps.log.child({ taskId: String(taskId) }), error);
    }
  }

  /** Whether a transaction sent now lands before the phase deadline (with the safety margin); expires it if it is over. */
  async #inTime(taskId: bigint, task: ChainTask): Promise<boolean> {
    const now = BigInt(await this.deps.chain.chainTime());
    if (now + BigInt(this.deps.safetyMarginSeconds) <= task.deadline) return true;
    this.deps.log.warn(
      { taskId: String(taskId), deadline: String(task.deadline), now: String(now) },
      "too close to the deadline: not acting",
    );
    await this.#expireIfDue(taskId, task);
    return false;
  }

  async #end(taskId: bigint, ending: TaskEnding, why: string): Promise<void> {
    const record = this.deps.journal.get(taskId);
    if (record?.ending) return;
    if (record) await this.deps.journal.update(taskId, { ending });
    // A won result is on the relay now; others are kept (a lost one to diagnose the disagreement).
    if (ending === "won") this.deps.journal.forgetResult(taskId);
    this.deps.metrics.taskEnded(ending);
    this.deps.log.info({ taskId: String(taskId), ending, why }, "task ended for this node");
  }

  /** A refused transaction means the chain moved on (another node expired the task, a deadline passed): re-read next tick. */
  #refused(log: pino.Logger, error: unknown): void {
    if (!(error instanceof ContractRefusal)) throw error;
    log.warn({ action: error.action, reason: error.reason }, "the contract refused the transaction; state is re-read next tick");
  }
}

/** ITaskManager.commitmentOf, computed locally: keccak256(abi.encode(taskId, node, resultHash, salt)). */
export function commitmentOf(taskId: bigint, node: string, resultHash: string, salt: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "address", "bytes32", "bytes32"], [taskId, node, resultHash, salt]));
}
