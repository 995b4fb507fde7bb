import { isError } from "ethers";
import { RelayError } from "../relay/errors.js";
import type { GptResponse, TaskErrorDocument } from "../engine/index.js";
import type { ClientConnection } from "./connection.js";
import { type AbortReasonName, abortReasonName, TaskStatus, type UnknownEnumValue } from "../chain/enums.js";

export interface NodeReveal {
  node: string;
  resultHash: string;
}

/** The registry entry a task was created for: with argsHash and resultHash it binds weights, request and answer. */
export interface TaskModel {
  /** The model's registry index (the task's on-chain `model`). */
  index: bigint;
  id: string;
  /** The hub revision its files come from. */
  revision: string;
  /** keccak256 of the canonical JSON of its files' manifest. */
  digest: string;
}

export interface SucceededTask {
  outcome: "succeeded";
  taskId: bigint;
  nodes: string[];
  /** The on-chain argsHash: keccak256 of the task document's bytes. */
  argsHash: string;
  /** The registry entry of the model the task was created for (read when the task settled). */
  model: TaskModel;
  /** The on-chain resultHash; the downloaded bytes were checked to hash to it. */
  resultHash: string;
  reveals: NodeReveal[];
  /** The agreed document: a response, or the deterministic error outcome of invalid arguments. */
  document: GptResponse | TaskErrorDocument;
  bytes: Uint8Array;
}

export interface AbortedTask {
  outcome: "aborted";
  taskId: bigint;
  nodes: string[];
  reason: AbortReasonName | UnknownEnumValue;
  reveals: NodeReveal[];
}

export type TaskResult = SucceededTask | AbortedTask;

export interface WaitOptions {
  /** Give up after this many ms (default 300 000). */
  timeoutMs?: number;
  pollIntervalMs?: number;
}

export class TaskTimeoutError extends Error {
  constructor(taskId: bigint, what: string, timeoutMs: number) {
    super(`task ${taskId}: ${what} within ${timeoutMs / 1000} s`);
    this.name = "TaskTimeoutError";
  }
}

/**
 * Waits until the task is Succeeded or Aborted on-chain; for a success, downloads the result from the relay
 * (the winning nodes upload it right after settlement) and checks it against the on-chain resultHash.
 */
export async function waitForResult(conn: ClientConnection, taskId: bigint, options: WaitOptions = {}): Promise<TaskResult> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const deadline = Date.now() + timeoutMs;

  const untilDeadline = <T>(what: string, read: () => Promise<T>) => readUntil(taskId, what, read, deadline, pollIntervalMs, timeoutMs);
  let task = await untilDeadline("its status could not be read", () => conn.taskManager.getTask(taskId));
  if (task.status === TaskStatus.None) throw new Error(`the chain has no task ${taskId}`);
  while (task.status !== TaskStatus.Succeeded && task.status !== TaskStatus.Aborted) {
    if (Date.now() > deadline) throw new TaskTimeoutError(taskId, "no consensus", timeoutMs);
    await sleep(pollIntervalMs);
    task = await untilDeadline("its status could not be read", () => conn.taskManager.getTask(taskId));
  }
  const nodes = [...task.nodes];
  const reveals = await untilDeadline("its reveals could not be read", () => revealsOf(conn, taskId));
  if (task.status === TaskStatus.Aborted) {
    return { outcome: "aborted", taskId, nodes, reason: abortReasonName(task.abortReason), reveals };
  }
  const entry = await untilDeadline("its model's registry entry could not be read", () => conn.registry.getModel(task.model));
  const model = { index: task.model, id: entry.id, revision: entry.revision, digest: entry.digest };
  const bytes = await downloadResult(conn, taskId, task.resultHash, deadline, pollIntervalMs, timeoutMs);
  const document = JSON.parse(new TextDecoder().decode(bytes)) as GptResponse | TaskErrorDocument;
  return { outcome: "succeeded", taskId, nodes, argsHash: task.argsHash, model, resultHash: task.resultHash, reveals, document, bytes };
}

async function downloadResult(
  conn: ClientConnection,
  taskId: bigint,
  resultHash: string,
  deadline: number,
  pollIntervalMs: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  for (;;) {
    try {
      return await conn.relay.getResult(taskId, resultHash);
    } catch (error) {
      // Not uploaded yet (404), or the relay unreachable or failing (the client already retried with backoff):
      // keep trying until the deadline. A hash mismatch or another 4xx will not get better.
      const transient = error instanceof RelayError && (error.status === 404 || error.status === 0 || error.status >= 500);
      if (!transient) throw new TaskFetchError(taskId, `its result could not be downloaded: ${(error as Error).message}`);
      if (Date.now() > deadline) {
        throw new TaskTimeoutError(taskId, `the result was not downloaded from the relay (last: ${(error as Error).message})`, timeoutMs);
      }
      await sleep(pollIntervalMs);
    }
  }
}

/** A failure while following a task; the message always names it. */
export class TaskFetchError extends Error {
  constructor(taskId: bigint, what: string) {
    super(`task ${taskId}: ${what}`);
    this.name = "TaskFetchError";
  }
}

/** Reads from the chain, retrying RPC failures until the deadline; a revert (the contract's answer) is not retried. */
async function readUntil<T>(
  taskId: bigint,
  what: string,
  read: () => Promise<T>,
  deadline: number,
  pollIntervalMs: number,
  timeoutMs: number,
): Promise<T> {
  for (let delay = pollIntervalMs; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await read();
    } catch (error) {
      if (isError(error, "CALL_EXCEPTION")) throw new TaskFetchError(taskId, `${what}: ${(error as Error).message}`);
      if (Date.now() > deadline) throw new TaskTimeoutError(taskId, `${what} (last RPC error: ${(error as Error).message})`, timeoutMs);
      await sleep(delay);
    }
  }
}

async function revealsOf(conn: ClientConnection, taskId: bigint): Promise<NodeReveal[]> {
  const events = await conn.taskManager.queryFilter(conn.taskManager.filters.TaskRevealed(taskId), conn.deployment.blockNumber);
  return events.map((e) => ({ node: e.args.node, resultHash: e.args.resultHash }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
