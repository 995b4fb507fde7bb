import { parseEther } from "ethers";
import { TaskStatus, abortReasonName } from "../chain/enums.js";
import type { ClientConnection } from "../client/connection.js";
import { connectDevnet } from "../devnet/client.js";
import { waitForResult } from "../client/result.js";
import { submitTask } from "../client/submit.js";
import { startDevnet, type Devnet } from "../devnet/devnet.js";
import { loadExampleTasks } from "../devnet/examples.js";
import type { SimulationPlan } from "./plan.js";
import { buildReport, type SimulationFacts, type SimulationReport, type TaskObservation } from "./report.js";

export interface SimulationOptions {
  plan: SimulationPlan;
  stateDir: string;
  modelsDir?: string;
  blockTimeSeconds?: number;
  /** Per task, from submission to its end on chain. */
  taskTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SimulationResult {
  report: SimulationReport;
  facts: SimulationFacts;
}

/**
 * Runs the plan on a fresh devnet (real chain, relay, worker processes with the planned faults): submits the
 * tasks with the planned concurrency, plays the relay outages, restarts crashed workers, waits for every task to
 * end on chain, and reports what the protocol did from the chain's own events and balances.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { plan } = options;
  const log = options.log ?? (() => undefined);
  const restarts: Array<Promise<void>> = [];
  let devnet: Devnet | undefined;
  devnet = await startDevnet({
    stateDir: options.stateDir,
    modelsDir: options.modelsDir,
    blockTimeSeconds: options.blockTimeSeconds,
    groups: plan.groups,
    onProgress: (message) => log(`devnet: ${message}`),
    onWorkerExit: (name) => {
      // A crash fault: bring the worker back (same key, state dir and faults) to recover from its journal.
      log(`worker ${name} exited; restarting it in ${plan.crashRestartMs} ms`);
      restarts.push(
        sleep(plan.crashRestartMs)
          .then(() => devnet?.restartWorker(name))
          .catch((e) => log(`restart of ${name} failed: ${e}`)),
      );
    },
  });
  let conn: ClientConnection | undefined;
  try {
    conn = await connectDevnet(devnet.manifest.stateDir);
    const faultyNodes = faultyAddresses(devnet, plan);
    const startBlock = await devnet.provider.getBlockNumber();
    const supplyBefore = await conn.token.totalSupply();

    const started = Date.now();
    const outages = plan.relayOutages.map((outage) => playRelayOutage(devnet!, outage, started, log));
    const isFaulty = (node: string) => faultyNodes.has(node.toLowerCase());
    const { tasks, submitFailures } = await submitAll(conn, plan, options.taskTimeoutMs ?? 600_000, isFaulty, log);
    await Promise.all(outages);
    await Promise.all(restarts);
    const orphans = await orphanedTasks(conn, startBlock, tasks, options.taskTimeoutMs ?? 600_000, isFaulty);
    tasks.push(...orphans);

    const endBlock = await devnet.provider.getBlockNumber();
    const facts: SimulationFacts = {
      tasks,
      slashes: (await conn.registry.queryFilter(conn.registry.filters.NodeSlashed(), startBlock + 1, endBlock)).map((e) => ({
        node: e.args.node,
        taskId: e.args.taskId,
      })),
      faultyNodes,
      submitFailures,
      gasUsed: await gasUsedBetween(devnet, startBlock + 1, endBlock),
      tokens: {
        supplyBefore,
        supplyAfter: await conn.token.totalSupply(),
        sumOfBalances: await sumOfAllBalances(conn),
        escrowAfter: await conn.token.balanceOf(conn.deployment.taskManager),
      },
    };
    return { report: buildReport(facts), facts };
  } finally {
    conn?.close();
    await devnet.stop();
  }
}

/** One allowance for the whole run: concurrent submissions must not overwrite each other's per-task approve. */
const STANDING_ALLOWANCE = parseEther("1000000");

async function submitAll(
  conn: ClientConnection,
  plan: SimulationPlan,
  timeoutMs: number,
  isFaulty: (node: string) => boolean,
  log: (line: string) => void,
) {
  const examples = loadExampleTasks().filter((e) => e.problem === undefined);
  const tasks: TaskObservation[] = [];
  const submitFailures: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < plan.tasks) {
      const example = examples[next++ % examples.length]!;
      const submittedAt = Date.now();
      let taskId: bigint;
      try {
        ({ taskId } = await submitTask(conn, example.task, { approve: STANDING_ALLOWANCE }));
      } catch (error) {
        const message = firstLine((error as Error).message);
        submitFailures.push(message);
        log(`submission failed: ${message}`);
        continue;
      }
      tasks.push(await observe(conn, taskId, submittedAt, timeoutMs, isFaulty));
      log(`task ${taskId}: ${tasks.at(-1)!.outcome}${tasks.at(-1)!.reason ? ` (${tasks.at(-1)!.reason})` : ""}`);
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, lane));
  return { tasks, submitFailures };
}

/**
 * Waits for the chain's verdict, then for the verified answer. A task two faulty nodes won is not downloaded: they
 * revealed a hash of their choosing, for which no bytes exist (the residual risk the report counts apart).
 */
async function observe(
  conn: ClientConnection,
  taskId: bigint,
  submittedAt: number,
  timeoutMs: number,
  isFaulty: (node: string) => boolean,
): Promise<TaskObservation> {
  const deadline = Date.now() + timeoutMs;
  let task = await conn.taskManager.getTask(taskId);
  while (task.status !== TaskStatus.Succeeded && task.status !== TaskStatus.Aborted && Date.now() < deadline) {
    await sleep(500);
    task = await conn.taskManager.getTask(taskId);
  }
  const nodes = [...task.nodes];
  if (task.status === TaskStatus.Aborted) {
    return { taskId, outcome: "aborted", reason: abortReasonName(task.abortReason), nodes, latencyMs: Date.now() - submittedAt };
  }
  if (task.status !== TaskStatus.Succeeded)
    return { taskId, outcome: "unfinished", nodes, answerLost: `no outcome within ${timeoutMs} ms` };
  const reveals = await conn.taskManager.queryFilter(conn.taskManager.filters.TaskRevealed(taskId), conn.deployment.blockNumber);
  const winners = winnersOf(
    reveals.map((e) => ({ node: e.args.node, resultHash: e.args.resultHash })),
    task.resultHash,
  );
  if (winners.length >= 2 && winners.every(isFaulty)) return { taskId, outcome: "succeeded", nodes, winners };
  try {
    await waitForResult(conn, taskId, { timeoutMs: Math.max(1, deadline - Date.now()) });
    return { taskId, outcome: "succeeded", nodes, winners, latencyMs: Date.now() - submittedAt };
  } catch (error) {
    return { taskId, outcome: "succeeded", nodes, winners, answerLost: (error as Error).message };
  }
}

/** Tasks the client paid for whose submission threw (no task id came back): each must still end, refunded. */
async function orphanedTasks(
  conn: ClientConnection,
  fromBlock: number,
  known: TaskObservation[],
  timeoutMs: number,
  isFaulty: (node: string) => boolean,
) {
  const knownIds = new Set(known.map((t) => t.taskId));
  const created = await conn.taskManager.queryFilter(conn.taskManager.filters.TaskCreated(undefined, conn.address), fromBlock + 1);
  const orphans = created.map((e) => e.args.taskId as bigint).filter((id) => !knownIds.has(id));
  return Promise.all(orphans.map((id) => observe(conn, id, Date.now(), timeoutMs, isFaulty)));
}

async function playRelayOutage(devnet: Devnet, outage: { atMs: number; durationMs: number }, startedAt: number, log: (l: string) => void) {
  await sleep(Math.max(0, startedAt + outage.atMs - Date.now()));
  log(`relay outage: down for ${outage.durationMs} ms`);
  await devnet.stopRelay();
  await sleep(outage.durationMs);
  await devnet.startRelay();
  log("relay outage: back");
}

function faultyAddresses(devnet: Devnet, plan: SimulationPlan): Set<string> {
  const faulty = new Set<string>();
  for (const { group, index } of plan.faults) {
    const spec = plan.groups[group]!;
    const members = devnet.manifest.workers.filter((w) => w.cardModel === spec.cardModel && w.vramGb === spec.vramGb);
    const worker = members[index];
    if (!worker) throw new Error(`the devnet has no worker ${index} in group "${spec.cardModel}"`);
    faulty.add(worker.address.toLowerCase());
  }
  return faulty;
}

async function gasUsedBetween(devnet: Devnet, from: number, to: number): Promise<bigint> {
  let total = 0n;
  for (let n = from; n <= to; n++) total += (await devnet.provider.getBlock(n))?.gasUsed ?? 0n;
  return total;
}

/** Every address that ever received tokens, summed: equals the supply when nothing was created or destroyed. */
async function sumOfAllBalances(conn: ClientConnection): Promise<bigint> {
  const transfers = await conn.token.queryFilter(conn.token.filters.Transfer(), conn.deployment.blockNumber);
  const holders = new Set(transfers.map((e) => e.args.to.toLowerCase()));
  let sum = 0n;
  for (const holder of holders) sum += await conn.token.balanceOf(holder);
  return sum;
}

function winnersOf(reveals: Array<{ node: string; resultHash: string }>, resultHash: string): string[] {
  return reveals.filter((r) => r.resultHash === resultHash).map((r) => r.node);
}

function firstLine(text: string): string {
  const line = text.split("\n")[0]!;
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
