import { RelayError } from "../relay/errors.js";
import type { GptResponse, TaskErrorDocument } from "../engine/index.js";
import type { ClientConnection } from "./connection.js";
import { type AbortReasonName, abortReasonName, TaskStatus, type UnknownEnumValue } from "../chain/enums.js";

export interface NodeReveal {
  node: string;
  resultHash: string;
}

export interface SucceededTask {
  outcome: "succeeded";
  taskId: bigint;
  nodes: string[];
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

  let task = await conn.taskManager.getTask(taskId);
  if (task.status === TaskStatus.None) throw new Error(`the chain has no task ${taskId}`);
  while (task.status !== TaskStatus.Succeeded && task.status !== TaskStatus.Aborted) {
    if (Date.now() > deadline) throw new TaskTimeoutError(taskId, "no consensus", timeoutMs);
    await sleep(pollIntervalMs);
    task = await conn.taskManager.getTask(taskId);
  }
  const nodes = [...task.nodes];
  const reveals = await revealsOf(conn, taskId);
  if (task.status === TaskStatus.Aborted) {
    return { outcome: "aborted", taskId, nodes, reason: abortReasonName(task.abortReason), reveals };
  }
  const bytes = await downloadResult(conn, taskId, task.resultHash, deadline, pollIntervalMs, timeoutMs);
  const document = JSON.parse(new TextDecoder().decode(bytes)) as GptResponse | TaskErrorDocument;
  return { outcome: "succeeded", taskId, nodes, resultHash: task.resultHash, reveals, document, bytes };
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
      const notYetUploaded = error instanceof RelayError && error.status === 404;
      if (!notYetUploaded) throw error;
      if (Date.now() > deadline) throw new TaskTimeoutError(taskId, "the result was not uploaded to the relay", timeoutMs);
      await sleep(pollIntervalMs);
    }
  }
}

async function revealsOf(conn: ClientConnection, taskId: bigint): Promise<NodeReveal[]> {
  const events = await conn.taskManager.queryFilter(
    conn.taskManager.filters.TaskRevealed(taskId),
    conn.deployment.blockNumber,
  );
  return events.map((e) => ({ node: e.args.node, resultHash: e.args.resultHash }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
