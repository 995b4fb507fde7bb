/**
 * Network overhead and throughput on a local devnet (6 CPU workers, stories260K):
 *   - protocol overhead: wall time from submitting a task (approve + createTask + upload) to its verified result,
 *     minus the inference time its slowest node spent in the engine (the workers' inference-seconds metric),
 *     for tasks sent one at a time;
 *   - throughput: BURST tasks submitted at once, tasks per minute until every result is verified.
 * Both with automine and with 1-second blocks. Writes bench/network.json and bench/network.md.
 * Run: npx tsx scripts/bench-network.ts
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ClientConnection } from "../worker/client/connection.js";
import { connectDevnet } from "../worker/devnet/client.js";
import { waitForResult } from "../worker/client/result.js";
import { submitTask } from "../worker/client/submit.js";
import { startDevnet, type Devnet } from "../worker/devnet/devnet.js";
import { loadExampleTasks } from "../worker/devnet/examples.js";
import { repoRoot } from "../worker/paths.js";

const SEQUENTIAL = 8;
const BURST = 24;
const TASK = loadExampleTasks().find((e) => e.file.endsWith("greedy.json"))!.task as Record<string, unknown>;
const TIMEOUT_MS = 300_000;

interface ModeResult {
  blockTimeSeconds: number;
  sequential: {
    tasks: number;
    totalSeconds: Summary;
    inferenceSeconds: Summary;
    overheadSeconds: Summary;
  };
  throughput: { tasks: number; wallSeconds: number; tasksPerMinute: number };
}

interface Summary {
  median: number;
  min: number;
  max: number;
}

async function benchMode(blockTimeSeconds: number): Promise<ModeResult> {
  const devnet = await startDevnet({
    stateDir: path.join(repoRoot, ".triad", `bench-${blockTimeSeconds}s`),
    blockTimeSeconds,
    onProgress: (m) => console.log(`  [${label(blockTimeSeconds)}] ${m}`),
  });
  const conn = await connectDevnet(devnet.manifest.stateDir);
  try {
    await runOne(devnet, conn, 0); // warm-up: first-task costs (allowance, caches) stay out of the numbers
    const totals: number[] = [];
    const inference: number[] = [];
    const overhead: number[] = [];
    for (let i = 1; i <= SEQUENTIAL; i++) {
      const sample = await runOne(devnet, conn, i);
      totals.push(sample.totalSeconds);
      inference.push(sample.inferenceSeconds);
      overhead.push(sample.totalSeconds - sample.inferenceSeconds);
      const seconds = `${sample.totalSeconds.toFixed(3)} s total, ${sample.inferenceSeconds.toFixed(3)} s inference`;
      console.log(`  [${label(blockTimeSeconds)}] task ${i}: ${seconds}`);
    }

    const started = performance.now();
    const submitted = [];
    for (let i = 0; i < BURST; i++) submitted.push(await submitTask(conn, { ...TASK, seed: 1000 + i }));
    const results = await Promise.all(submitted.map((s) => waitForResult(conn, s.taskId, { timeoutMs: TIMEOUT_MS })));
    const wallSeconds = (performance.now() - started) / 1000;
    const failed = results.filter((r) => r.outcome !== "succeeded");
    if (failed.length > 0) throw new Error(`${failed.length} burst tasks did not succeed`);
    console.log(`  [${label(blockTimeSeconds)}] burst of ${BURST}: ${wallSeconds.toFixed(1)} s`);

    return {
      blockTimeSeconds,
      sequential: {
        tasks: SEQUENTIAL,
        totalSeconds: summary(totals),
        inferenceSeconds: summary(inference),
        overheadSeconds: summary(overhead),
      },
      throughput: { tasks: BURST, wallSeconds: round(wallSeconds), tasksPerMinute: round((BURST / wallSeconds) * 60) },
    };
  } finally {
    conn.close();
    await devnet.stop();
  }
}

/** One task end to end; inference time = the largest increase of a selected node's inference-seconds sum. */
async function runOne(devnet: Devnet, conn: ClientConnection, seed: number): Promise<{ totalSeconds: number; inferenceSeconds: number }> {
  const before = await inferenceSums(devnet);
  const started = performance.now();
  const submitted = await submitTask(conn, { ...TASK, seed });
  const result = await waitForResult(conn, submitted.taskId, { timeoutMs: TIMEOUT_MS, pollIntervalMs: 50 });
  const totalSeconds = (performance.now() - started) / 1000;
  if (result.outcome !== "succeeded") throw new Error(`task ${submitted.taskId} aborted: ${result.reason}`);
  const after = await inferenceSums(devnet);
  const perNode = result.nodes.map((node) => (after.get(node) ?? 0) - (before.get(node) ?? 0));
  return { totalSeconds, inferenceSeconds: Math.max(...perNode) };
}

/** Each worker's cumulative inference seconds, from its Prometheus endpoint. */
async function inferenceSums(devnet: Devnet): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  for (const worker of devnet.manifest.workers) {
    const text = await (await fetch(worker.metricsUrl)).text();
    sums.set(worker.address, inferenceSecondsSum(text));
  }
  return sums;
}

const INFERENCE_SUM = /^triad_worker_inference_seconds_sum(?:\{[^}]*\})?\s+(\S+)$/gm;

function inferenceSecondsSum(metrics: string): number {
  let total = 0;
  let found = false;
  for (const match of metrics.matchAll(INFERENCE_SUM)) {
    total += Number(match[1]);
    found = true;
  }
  if (!found) throw new Error("the worker's metrics have no triad_worker_inference_seconds histogram");
  return total;
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: round(sorted[Math.floor(sorted.length / 2)]!), min: round(sorted[0]!), max: round(sorted.at(-1)!) };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function label(blockTime: number): string {
  return blockTime === 0 ? "automine" : `${blockTime}s blocks`;
}

function markdown(results: ModeResult[], machine: string): string {
  const rows = results.map((r) => {
    const s = r.sequential;
    const overhead = `**${s.overheadSeconds.median}** (${s.overheadSeconds.min}..${s.overheadSeconds.max})`;
    const cells = [
      label(r.blockTimeSeconds),
      s.totalSeconds.median,
      s.inferenceSeconds.median,
      overhead,
      `**${r.throughput.tasksPerMinute}**`,
    ];
    return `| ${cells.join(" | ")} |`;
  });
  return [
    `# Network overhead and throughput (local devnet, 6 CPU workers, stories260K)`,
    ``,
    `Produced by \`npx tsx scripts/bench-network.ts\`. Machine: ${machine}.`,
    ``,
    `- Task: \`examples/greedy.json\` (32 new tokens), sent by one client; two groups of three workers (one ONNX Runtime`,
    `  thread each), relay and Hardhat node all on this machine.`,
    `- Overhead: wall time from \`submitTask\` (approve + createTask + upload) to the verified result, minus the`,
    `  inference time of the task's slowest node (\`triad_worker_inference_seconds\`); median of ${SEQUENTIAL} tasks sent one at a time.`,
    `- Throughput: ${BURST} tasks submitted at once; tasks per minute until the last result was verified.`,
    ``,
    `| mining | total s (median) | inference s (median) | protocol overhead s (median, min..max) | tasks/min (burst) |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    ...rows,
    ``,
  ].join("\n");
}

const results: ModeResult[] = [];
for (const blockTime of [0, 1]) results.push(await benchMode(blockTime));
const machine = `${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores, shared), Node ${process.version}`;
await writeFile(
  path.join(repoRoot, "bench", "network.json"),
  JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2) + "\n",
);
await writeFile(path.join(repoRoot, "bench", "network.md"), markdown(results, machine));
console.log(markdown(results, machine));
