import path from "node:path";
import { formatEther } from "ethers";
import type { ClientConnection } from "../client/connection.js";
import { connectDevnet } from "./client.js";
import { renderTaskResult } from "../client/render.js";
import { waitForResult, type TaskResult } from "../client/result.js";
import { submitTask } from "../client/submit.js";
import { startDevnet, type Devnet } from "./devnet.js";
import { loadExampleTasks } from "./examples.js";
import type { ManifestWorker } from "./manifest.js";
import type { WorkerGroupSpec } from "./worker-group.js";

export interface DemoOptions {
  stateDir: string;
  modelsDir?: string;
  blockTimeSeconds?: number;
  /** Per task, from creation to its verified result. */
  taskTimeoutMs?: number;
  print?: (text: string) => void;
}

/** A group only a task asking for 141 GB can reach, so the demo's faulty task lands on it. */
const FAULTY_GROUP: WorkerGroupSpec = { cardModel: "NVIDIA H200", vramGb: 141, count: 3, faults: { 0: { wrongResult: true } } };

/**
 * `npm run demo`: a devnet, every valid example task through consensus, then a worker that reports a wrong
 * result being slashed while its task still succeeds. Throws if any step does not turn out as it should.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const print = options.print ?? console.log;
  const timeoutMs = options.taskTimeoutMs ?? 180_000;
  print("== Starting the devnet (Hardhat node, contracts, relay, 2 x 3 workers)");
  const devnet = await startDevnet({
    stateDir: options.stateDir,
    modelsDir: options.modelsDir,
    blockTimeSeconds: options.blockTimeSeconds,
    onProgress: (message) => print(`   ${message}`),
  });
  let conn: ClientConnection | undefined;
  try {
    conn = await connectDevnet(devnet.manifest.stateDir);
    await runExampleTasks(devnet, conn, print, timeoutMs);
    await runBridgeRequest(devnet, conn, print);
    await runSlashingScenario(devnet, conn, print, timeoutMs);
    print("\n== Demo finished: stopping workers, relay and chain");
  } finally {
    conn?.close();
    await devnet.stop();
  }
}

async function runExampleTasks(devnet: Devnet, conn: ClientConnection, print: (t: string) => void, timeoutMs: number) {
  const examples = loadExampleTasks();
  const submitted: Array<{ name: string; taskId: bigint }> = [];
  print(`\n== Submitting the example tasks (${examples.length} files in examples/)`);
  for (const example of examples) {
    const name = path.basename(example.file);
    if (example.problem) {
      print(`   ${name}: skipped, it is invalid on purpose (${example.problem})`);
      continue;
    }
    const { taskId } = await submitTask(conn, example.task);
    print(`   ${name}: task ${taskId}`);
    submitted.push({ name, taskId });
  }
  print(`\n== Waiting for consensus on ${submitted.length} tasks (${devnet.manifest.workers.length} workers)`);
  const results = await Promise.all(submitted.map(({ taskId }) => waitForResult(conn, taskId, { timeoutMs })));
  for (const [i, result] of results.entries()) {
    print(`\n-- ${submitted[i]!.name}`);
    print(renderTaskResult(result, workerLabels(devnet)));
    expectSucceeded(result);
  }
}

/** An application without a wallet: an OpenAI-format request to the bridge, answered with the chain's receipt. */
async function runBridgeRequest(devnet: Devnet, conn: ClientConnection, print: (t: string) => void) {
  const { url, apiKey } = devnet.manifest.bridge;
  const request = {
    model: "stories260K",
    messages: [{ role: "user", content: "Once upon a time" }],
    temperature: 0.8,
    seed: 42,
    max_tokens: 40,
  };
  print(`\n== The OpenAI-compatible bridge: POST ${url}/v1/chat/completions`);
  print(`   ${JSON.stringify(request)}`);
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  const body = (await response.json()) as {
    error?: { message: string };
    choices: Array<{ message: { content: string }; finish_reason: string }>;
    usage: { total_tokens: number };
    triad: { task_id: string; nodes: string[]; result_hash: string };
  };
  if (!response.ok) throw new Error(`the bridge answered ${response.status}: ${body.error?.message}`);
  const onChain = await conn.taskManager.getTask(BigInt(body.triad.task_id));
  if (onChain.resultHash !== body.triad.result_hash) {
    throw new Error(
      `the bridge's result hash ${body.triad.result_hash} is not task ${body.triad.task_id}'s on-chain ${onChain.resultHash}`,
    );
  }
  const choice = body.choices[0]!;
  print(`   assistant [finish_reason ${choice.finish_reason}, ${body.usage.total_tokens} tokens]: ${choice.message.content}`);
  print(`   triad: task ${body.triad.task_id}, nodes ${body.triad.nodes.join(", ")}`);
  print(`          result hash ${body.triad.result_hash} (equals the task's on-chain resultHash)`);
  print(`   chat page: ${devnet.manifest.bridge.chatPage}`);
}

async function runSlashingScenario(devnet: Devnet, conn: ClientConnection, print: (t: string) => void, timeoutMs: number) {
  print(
    `\n== A faulty worker: governance adds the card group "${FAULTY_GROUP.cardModel}"; 3 workers join it, one reporting a wrong result`,
  );
  const added = await devnet.addWorkers(FAULTY_GROUP);
  const faulty = added[0]!;
  print(`   ${faulty.name} (${faulty.address}) runs with faults.wrongResult`);
  const stakeBefore = (await conn.registry.getNode(faulty.address)).stake;

  const greedy = loadExampleTasks().find((e) => e.file.endsWith("greedy.json"))!;
  const { taskId } = await submitTask(conn, greedy.task, { minVramGb: FAULTY_GROUP.vramGb });
  print(`   task ${taskId} (greedy.json, minVramGb ${FAULTY_GROUP.vramGb}) submitted`);
  const result = await waitForResult(conn, taskId, { timeoutMs });
  print(renderTaskResult(result, workerLabels(devnet)));
  expectSucceeded(result);

  const slashed = await conn.registry.queryFilter(conn.registry.filters.NodeSlashed(undefined, taskId), devnet.deployment.blockNumber);
  if (slashed.length !== 1 || slashed[0]!.args.node !== faulty.address) {
    throw new Error(`expected exactly one NodeSlashed event for ${faulty.address} in task ${taskId}, got ${slashed.length}`);
  }
  const event = slashed[0]!;
  const after = await conn.registry.getNode(faulty.address);
  const { node, taskId: slashedIn, amount } = event.args;
  print(
    `\n   NodeSlashed(node ${node}, taskId ${slashedIn}, amount ${formatEther(amount)} TRIAD)` +
      `  block ${event.blockNumber}, tx ${event.transactionHash}`,
  );
  print(`   stake of ${faulty.name}: ${formatEther(stakeBefore)} TRIAD before, ${formatEther(after.stake)} TRIAD after`);
  print(`   the two honest nodes agreed, so task ${taskId} still succeeded and they were paid`);
}

function expectSucceeded(result: TaskResult): asserts result is Extract<TaskResult, { outcome: "succeeded" }> {
  if (result.outcome !== "succeeded") throw new Error(`task ${result.taskId} aborted (${result.reason})`);
}

function workerLabels(devnet: Devnet): (address: string) => string | undefined {
  return (address) => {
    const worker: ManifestWorker | undefined = devnet.manifest.workers.find((w) => w.address.toLowerCase() === address.toLowerCase());
    return worker && `${worker.name}, ${worker.cardModel}`;
  };
}
