import { MaxUint256 } from "ethers";
import { TaskStatus } from "../chain/enums.js";
import type { ClientConnection } from "../client/connection.js";
import { waitForResult, type TaskResult } from "../client/result.js";
import { withRpcRetries } from "../client/rpc-retry.js";
import { submitTask, vramRequirement } from "../client/submit.js";
import type { GptTask } from "../engine/index.js";

/** What the bridge keeps of a client submission (worker/client's SubmittedTask) and reports. */
export interface BridgeSubmission {
  taskId: bigint;
  fee: bigint;
  /** Hash of the createTask transaction. */
  createTx: string;
}

/** What the bridge needs from the network; tests inject a fake. */
export interface TriadNetwork {
  /** Pays the fee and creates the task; the task is on-chain and its arguments on the relay when this resolves. */
  submit(task: GptTask): Promise<BridgeSubmission>;
  /** The task's verified outcome; rejects with TaskTimeoutError after `timeoutMs`. */
  result(taskId: bigint, timeoutMs: number): Promise<TaskResult>;
  /** Cancels a task still waiting in the queue (fee refunded); "started" when nodes already work on it. */
  cancel(taskId: bigint): Promise<"cancelled" | "started">;
  /**
   * Tasks this wallet created with `argsHash`, oldest first: after a crash between paying and recording, the
   * bridge finds the task it paid for instead of paying again.
   */
  findTasks(argsHash: string): Promise<Array<{ taskId: bigint; createTx: string }>>;
  /**
   * Checks, before anything is charged, what createTask needs from the registry: the variant the task's dtype /
   * quantize_bits selects is offered by the registered model. Rejects with InvalidTaskError naming the field.
   */
  checkTask?(task: GptTask): Promise<void>;
  /** The models registered on chain and not retired, with their pinned hub revision (absent: not known). */
  registeredModels?(): Promise<Array<{ id: string; revision: string }>>;
}

/**
 * The real network through the client library. Submissions are serialised: they share one wallet, whose
 * allowance and nonces concurrent submissions would race on; waiting for results runs concurrently.
 */
export class ChainNetwork implements TriadNetwork {
  #submissions: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly conn: ClientConnection,
    /**
     * `minVramFloorGb` (the config's minVramGb): the least VRAM a task asks for; each task asks for the VRAM the
     * registry records for the variant it selects when that is more.
     */
    private readonly options: { fee?: bigint; minVramFloorGb?: number },
  ) {}

  submit(task: GptTask): Promise<BridgeSubmission> {
    const run = this.#submissions.then(async () => {
      const submitted = await submitTask(this.conn, task, {
        fee: this.options.fee,
        minVramFloorGb: this.options.minVramFloorGb,
        validate: false,
        // The bridge's wallet exists to pay fees: one standing approval instead of one per request.
        approve: MaxUint256,
      });
      return { taskId: submitted.taskId, fee: submitted.fee, createTx: submitted.createTxHash };
    });
    this.#submissions = run.catch(() => undefined);
    return run;
  }

  async checkTask(task: GptTask): Promise<void> {
    await vramRequirement(this.conn, task);
  }

  async registeredModels(): Promise<Array<{ id: string; revision: string }>> {
    const registry = this.conn.registry;
    const models = [];
    for (let index = 0n; index < (await registry.modelCount()); index++) {
      const model = await registry.getModel(index);
      if (model.status === 1n) models.push({ id: model.id, revision: model.revision });
    }
    return models;
  }

  result(taskId: bigint, timeoutMs: number): Promise<TaskResult> {
    return waitForResult(this.conn, taskId, { timeoutMs, pollIntervalMs: 100 });
  }

  async findTasks(argsHash: string): Promise<Array<{ taskId: bigint; createTx: string }>> {
    const tm = this.conn.taskManager;
    const events = await withRpcRetries(`looking up tasks with argsHash ${argsHash}`, () =>
      tm.queryFilter(tm.filters.TaskCreated(undefined, this.conn.address), this.conn.deployment.blockNumber),
    );
    return events
      .filter((event) => event.args.argsHash.toLowerCase() === argsHash.toLowerCase())
      .map((event) => ({ taskId: event.args.taskId, createTx: event.transactionHash }));
  }

  async cancel(taskId: bigint): Promise<"cancelled" | "started"> {
    const run = this.#submissions.then(async () => {
      const task = await withRpcRetries(`task ${taskId}: reading its status`, () => this.conn.taskManager.getTask(taskId));
      if (task.status !== TaskStatus.Queued) return "started" as const;
      await (await this.conn.taskManager.cancel(taskId)).wait();
      return "cancelled" as const;
    });
    this.#submissions = run.catch(() => undefined);
    return run;
  }
}
