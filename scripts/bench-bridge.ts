/**
 * Latency the bridge adds over a direct client call of the same task, on one devnet (3 CPU workers, stories260K,
 * automine). Alternates a direct call (submitTask + waitForResult, as `triad task` does) and the same task through
 * the bridge with the official openai client; reports medians and the difference. Writes bench/bridge.json and .md.
 * Run: npx tsx scripts/bench-bridge.ts
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { MaxUint256 } from "ethers";
import OpenAI from "openai";
import { connectDevnet } from "../worker/devnet/client.js";
import { waitForResult } from "../worker/client/result.js";
import { submitTask } from "../worker/client/submit.js";
import { startDevnet } from "../worker/devnet/devnet.js";
import { repoRoot } from "../worker/paths.js";

const ROUNDS = 8;
const PROMPT = "Once upon a time";
const MAX_TOKENS = 32;

const devnet = await startDevnet({
  stateDir: path.join(repoRoot, ".triad", "bench-bridge"),
  groups: [{ cardModel: "NVIDIA GeForce RTX 4090", vramGb: 24, count: 3 }],
  onProgress: (m) => console.log(`  ${m}`),
});
const conn = await connectDevnet(devnet.manifest.stateDir);
const openai = new OpenAI({ apiKey: devnet.manifest.bridge.apiKey, baseURL: `${devnet.manifest.bridge.url}/v1`, maxRetries: 0 });

/** The task the bridge makes of the request below (temperature 0 = greedy). */
const directTask = (seed: number) => ({
  model: "stories260K",
  messages: [{ role: "user", content: PROMPT }],
  seed,
  generation_config: { max_new_tokens: MAX_TOKENS, do_sample: false },
});

async function direct(seed: number): Promise<number> {
  const started = performance.now();
  // The same chain work as the bridge: a standing allowance, so one transaction per task.
  const { taskId } = await submitTask(conn, directTask(seed), { approve: MaxUint256 });
  const result = await waitForResult(conn, taskId, { pollIntervalMs: 100 });
  if (result.outcome !== "succeeded") throw new Error(`direct task ${taskId} aborted`);
  return (performance.now() - started) / 1000;
}

async function viaBridge(seed: number): Promise<number> {
  const started = performance.now();
  await openai.chat.completions.create({
    model: "stories260K",
    messages: [{ role: "user", content: PROMPT }],
    temperature: 0,
    max_tokens: MAX_TOKENS,
    seed,
  });
  return (performance.now() - started) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 1000) / 1000;

try {
  await direct(0);
  await viaBridge(0); // warm-up: first-task costs (allowances, caches) stay out of the numbers
  const directs: number[] = [];
  const bridged: number[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    directs.push(await direct(i));
    bridged.push(await viaBridge(i));
    console.log(`  round ${i}: direct ${directs.at(-1)!.toFixed(3)} s, bridge ${bridged.at(-1)!.toFixed(3)} s`);
  }
  const result = {
    machine: `${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores, shared), Node ${process.version}`,
    date: new Date().toISOString(),
    rounds: ROUNDS,
    directSeconds: { median: round(median(directs)), all: directs.map(round) },
    bridgeSeconds: { median: round(median(bridged)), all: bridged.map(round) },
    addedSeconds: round(median(bridged) - median(directs)),
    ratio: round(median(bridged) / median(directs)),
  };
  const md = [
    `# Latency added by the bridge (devnet, 3 CPU workers, stories260K, automine)`,
    ``,
    `Produced by \`npx tsx scripts/bench-bridge.ts\`. Machine: ${result.machine}.`,
    ``,
    `The same greedy task (${MAX_TOKENS} new tokens), ${ROUNDS} rounds alternating: direct = \`submitTask\` + \`waitForResult\``,
    "(what `triad task` does, polling every 100 ms, with a standing allowance like the bridge's); " +
      "bridge = the official openai client's `chat.completions.create`",
    `against the bridge, which does the same and answers once the result is verified.`,
    ``,
    `| path | median s |`,
    `| --- | ---: |`,
    `| direct client | ${result.directSeconds.median} |`,
    `| through the bridge | ${result.bridgeSeconds.median} |`,
    `| **added by the bridge** | **${result.addedSeconds}** (ratio ${result.ratio}) |`,
    ``,
  ].join("\n");
  await writeFile(path.join(repoRoot, "bench", "bridge.json"), JSON.stringify(result, null, 2) + "\n");
  await writeFile(path.join(repoRoot, "bench", "bridge.md"), md);
  console.log(md);
} finally {
  conn.close();
  await devnet.stop();
}
