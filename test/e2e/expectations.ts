import { expect } from "chai";
import type { EventLog } from "ethers";
import type { ClientConnection } from "../../worker/client/connection.js";
import type { SucceededTask, TaskResult } from "../../worker/client/result.js";
import { GptEngine, encodeTask, type TaskOutcome } from "../../worker/engine/index.js";
import { defaultModelsDir } from "../../worker/paths.js";

/** Runs a task on this machine's engine: what three honest nodes on a CPU must agree on. */
export async function localOutcome(task: unknown): Promise<TaskOutcome> {
  const engine = new GptEngine({ modelsDir: defaultModelsDir() });
  try {
    return await engine.runTask(encodeTask(task));
  } finally {
    await engine.close();
  }
}

export function expectSucceeded(result: TaskResult): asserts result is SucceededTask {
  expect(result.outcome, `task ${result.taskId} ${result.outcome === "aborted" ? `aborted: ${result.reason}` : ""}`).to.equal("succeeded");
}

/** The verified result equals the local engine's, byte for byte. */
export function expectSameAsLocal(result: SucceededTask, local: TaskOutcome): void {
  expect(result.resultHash).to.equal(local.resultHash);
  expect(new TextDecoder().decode(result.bytes)).to.equal(local.canonicalJson);
}

/** The three nodes of a task share one group, the task's. */
export async function expectOneGroup(conn: ClientConnection, taskId: bigint): Promise<bigint> {
  const task = await conn.taskManager.getTask(taskId);
  const started = await startedEvent(conn, taskId);
  expect([...started.args.nodes]).to.deep.equal([...task.nodes]);
  expect(started.args.groupId).to.equal(task.groupId);
  const groups = await Promise.all(task.nodes.map(async (node) => nodeGroupAtStart(conn, node)));
  for (const group of groups) expect(group, `a node of task ${taskId} is in another group`).to.equal(task.groupId);
  return task.groupId;
}

async function startedEvent(conn: ClientConnection, taskId: bigint): Promise<EventLog> {
  const [event] = await conn.taskManager.queryFilter(conn.taskManager.filters.TaskStarted(taskId), conn.deployment.blockNumber);
  expect(event, `TaskStarted(${taskId})`).to.not.equal(undefined);
  return event as unknown as EventLog;
}

/** The group a node joined (from its NodeJoined event: a slashed node no longer has a registry entry). */
async function nodeGroupAtStart(conn: ClientConnection, node: string): Promise<bigint> {
  const joins = await conn.registry.queryFilter(conn.registry.filters.NodeJoined(node), conn.deployment.blockNumber);
  expect(joins.length, `NodeJoined(${node})`).to.be.greaterThan(0);
  return joins.at(-1)!.args.groupId;
}

/** NodePaid events of a task, by node address. */
export async function paymentsOf(conn: ClientConnection, taskId: bigint): Promise<Map<string, bigint>> {
  const events = await conn.taskManager.queryFilter(conn.taskManager.filters.NodePaid(taskId), conn.deployment.blockNumber);
  return new Map(events.map((e) => [e.args.node, e.args.amount]));
}

export async function slashesOf(conn: ClientConnection, taskId: bigint): Promise<Array<{ node: string; amount: bigint }>> {
  const events = await conn.registry.queryFilter(conn.registry.filters.NodeSlashed(undefined, taskId), conn.deployment.blockNumber);
  return events.map((e) => ({ node: e.args.node, amount: e.args.amount }));
}

/** Each winner's share of a fee (TaskManager: fee * nodeShareBps / 10000 / winners). */
export function shareOf(fee: bigint, nodeShareBps: number, winners: number): bigint {
  return (fee * BigInt(nodeShareBps)) / 10_000n / BigInt(winners);
}
