/**
 * `npm run bench:gpu` (on a machine with a GPU; see docs/gpu.md): for every GPU provider that starts here
 * (webgpu, cuda), runs each valid examples/*.json task in three separate `run-task` processes and checks that
 * the three response JSONs are byte-identical; compares them with the CPU provider's response; measures
 * tokens/s of the GPU provider against the CPU provider in-process (same engine, 1 thread on CPU).
 * Writes bench/gpu.json and bench/gpu.md. Exit status 1 with "no GPU: ..." when no GPU provider starts,
 * 1 when any task's three responses differ.
 * `--devices cpu` dry-runs the whole pipeline with the CPU provider standing in for a GPU (no GPU needed).
 * Run: npx tsx scripts/gpu-determinism.ts [--devices webgpu,cuda] [--models-dir DIR] [--cli-entry bin/triad.js]
 *      [--random-llama-dir DIR] [--out-dir bench]
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { deviceInfo, type DeviceInfo } from "../worker/engine/device-info.js";
import { ensureDeviceAvailable, type Device } from "../worker/engine/execution-provider.js";
import { GptEngine, encodeTask, type GptResponse } from "../worker/engine/index.js";
import { defaultModelsDir, repoRoot } from "../worker/paths.js";

const PROCESSES = 3;
const SPEED_RUNS = 3;

const { values: flags } = parseArgs({
  options: {
    "models-dir": { type: "string", default: defaultModelsDir() },
    "cli-entry": { type: "string", default: path.join(repoRoot, "bin/triad.js") },
    "examples-dir": { type: "string", default: path.join(repoRoot, "examples") },
    "random-llama-dir": { type: "string", default: "/tmp/triad-random-models" },
    "out-dir": { type: "string", default: path.join(repoRoot, "bench") },
    devices: { type: "string", default: "webgpu,cuda" },
  },
});

interface Example {
  file: string;
  bytes: Buffer;
}

interface DeterminismRow {
  device: Device;
  example: string;
  identicalAcrossProcesses: boolean;
  sha256: string[];
  equalsCpu: boolean;
  exitCodes: number[];
}

interface SpeedRow {
  device: Device;
  task: string;
  completionTokens: number;
  gpuTokensPerSecond: number;
  cpuTokensPerSecond: number;
  gpuOverCpu: number;
}

function runTaskProcess(file: string, device: Device): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [flags["cli-entry"], "run-task", file, "--device", device, "--models-dir", flags["models-dir"]],
      { maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Valid examples: every examples/*.json whose CPU run is a response (invalid.json and the like give error documents). */
async function validExamples(): Promise<{ examples: Example[]; cpuResponses: Map<string, string> }> {
  const examples: Example[] = [];
  const cpuResponses = new Map<string, string>();
  for (const name of readdirSync(flags["examples-dir"])
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const file = path.join(flags["examples-dir"], name);
    const cpu = await runTaskProcess(file, "cpu");
    if (cpu.code !== 0) {
      console.log(`skip ${name}: not a valid task on CPU (exit ${cpu.code})`);
      continue;
    }
    examples.push({ file, bytes: readFileSync(file) });
    cpuResponses.set(file, cpu.stdout);
  }
  return { examples, cpuResponses };
}

async function determinism(device: Device, examples: Example[], cpuResponses: Map<string, string>): Promise<DeterminismRow[]> {
  const rows: DeterminismRow[] = [];
  for (const example of examples) {
    const runs = await Promise.all(Array.from({ length: PROCESSES }, () => runTaskProcess(example.file, device)));
    for (const r of runs)
      if (r.code !== 0) console.log(`${device} ${path.basename(example.file)}: exit ${r.code}: ${r.stderr.trim().split("\n").pop()}`);
    const row: DeterminismRow = {
      device,
      example: path.basename(example.file),
      identicalAcrossProcesses: runs.every((r) => r.code === 0 && r.stdout === runs[0].stdout),
      sha256: runs.map((r) => createHash("sha256").update(r.stdout).digest("hex")),
      equalsCpu: runs[0].stdout === cpuResponses.get(example.file),
      exitCodes: runs.map((r) => r.code),
    };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}

/** Median tokens/s of a task on one engine, after a warm-up run (inference seconds as the engine measures them). */
async function tokensPerSecond(engine: GptEngine, task: unknown): Promise<{ rate: number; tokens: number }> {
  const bytes = encodeTask(task);
  await engine.runTask(bytes);
  const rates: number[] = [];
  let tokens = 0;
  for (let i = 0; i < SPEED_RUNS; i++) {
    const outcome = await engine.runTask(bytes);
    tokens = (outcome.document as GptResponse).usage?.completion_tokens ?? 0;
    rates.push(tokens / outcome.metrics.inferenceSeconds);
  }
  rates.sort((a, b) => a - b);
  return { rate: rates[Math.floor(rates.length / 2)], tokens };
}

async function speed(device: Device): Promise<SpeedRow[]> {
  const tasks: { label: string; modelsDir: string; task: unknown }[] = [
    {
      label: "stories260K greedy, 200 new tokens",
      modelsDir: flags["models-dir"],
      task: {
        model: "stories260K",
        messages: [{ role: "user", content: "Once upon a time" }],
        seed: 1,
        generation_config: { max_new_tokens: 200 },
      },
    },
  ];
  for (const name of existsSync(flags["random-llama-dir"])
    ? readdirSync(flags["random-llama-dir"]).filter((n) => n.startsWith("random-llama-"))
    : []) {
    tasks.push({
      label: `${name} greedy, 32 new tokens`,
      modelsDir: flags["random-llama-dir"],
      task: { model: name, messages: [{ role: "user", content: "Once upon a time" }], seed: 1, generation_config: { max_new_tokens: 32 } },
    });
  }
  const rows: SpeedRow[] = [];
  for (const { label, modelsDir, task } of tasks) {
    const gpuEngine = new GptEngine({ modelsDir, device });
    const cpuEngine = new GptEngine({ modelsDir, device: "cpu" });
    try {
      const gpu = await tokensPerSecond(gpuEngine, task);
      const cpu = await tokensPerSecond(cpuEngine, task);
      const row = {
        device,
        task: label,
        completionTokens: gpu.tokens,
        gpuTokensPerSecond: round(gpu.rate),
        cpuTokensPerSecond: round(cpu.rate),
        gpuOverCpu: round(gpu.rate / cpu.rate, 3),
      };
      console.log(JSON.stringify(row));
      rows.push(row);
    } finally {
      await gpuEngine.close();
      await cpuEngine.close();
    }
  }
  return rows;
}

async function main() {
  const available: Device[] = [];
  const reasons: string[] = [];
  for (const device of flags.devices.split(",").map((d) => d.trim() as Device)) {
    await ensureDeviceAvailable(device).then(
      () => available.push(device),
      (error: Error) => reasons.push(error.message),
    );
  }
  const gpus: DeviceInfo[] = await Promise.all(available.map((d) => deviceInfo(d)));
  if (available.includes("cpu")) console.log("dry run: the CPU provider stands in for a GPU");
  if (available.length === 0) {
    const smi = await deviceInfo("cuda");
    console.error(`no GPU: ${reasons.join("; ")}; nvidia-smi: ${smi.source === "nvidia-smi" ? smi.cardModel : "not found"}`);
    process.exit(1);
  }
  console.log(`GPU providers: ${available.join(", ")} on ${gpus[0].cardModel} (${gpus[0].memoryMiB} MiB)`);

  const { examples, cpuResponses } = await validExamples();
  const determinismRows: DeterminismRow[] = [];
  const speedRows: SpeedRow[] = [];
  for (const device of available) {
    determinismRows.push(...(await determinism(device, examples, cpuResponses)));
    speedRows.push(...(await speed(device)));
  }
  const report = {
    gpu: gpus[0],
    providers: available,
    unavailable: reasons,
    processesPerTask: PROCESSES,
    onnxruntime: ort.env.versions.node,
    node: process.version,
    allIdentical: determinismRows.every((r) => r.identicalAcrossProcesses),
    determinism: determinismRows,
    speed: speedRows,
  };
  await writeFile(path.join(flags["out-dir"], "gpu.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(flags["out-dir"], "gpu.md"), markdown(report));
  console.log(`wrote ${path.join(flags["out-dir"], "gpu.json")} and gpu.md; all identical: ${report.allIdentical}`);
  if (!report.allIdentical) process.exitCode = 1;
}

function markdown(report: {
  gpu: DeviceInfo;
  providers: Device[];
  unavailable: string[];
  determinism: DeterminismRow[];
  speed: SpeedRow[];
  onnxruntime?: string;
  node: string;
}): string {
  const det = report.determinism.map(
    (r) =>
      `| ${r.device} | ${r.example} | ${r.identicalAcrossProcesses ? "yes" : "**NO**"} | ` +
      `${r.sha256[0].slice(0, 12)} | ${r.equalsCpu ? "yes" : "no"} |`,
  );
  const spd = report.speed.map(
    (r) => `| ${r.device} | ${r.task} | ${r.gpuTokensPerSecond} | ${r.cpuTokensPerSecond} | **${r.gpuOverCpu}** |`,
  );
  return `# GPU determinism and speed (\`npm run bench:gpu\`)

GPU: ${report.gpu.cardModel} (${report.gpu.memoryMiB} MiB), providers that started: ${report.providers.join(", ")}${
    report.unavailable.length ? `; not started: ${report.unavailable.join("; ")}` : ""
  }. onnxruntime-node ${report.onnxruntime}, Node ${report.node}.

Each valid \`examples/*.json\` task ran in ${PROCESSES} separate \`triad run-task --device …\` processes; "identical" means
the three canonical response JSONs are byte-identical. "= CPU" compares with the CPU provider's response (GPU
logits differ from CPU logits in the last bits, so long or sampled outputs may legitimately differ).

| device | task | identical in ${PROCESSES} processes | sha256 (first 12) | = CPU |
| --- | --- | --- | --- | --- |
${det.join("\n")}

Speed (in-process, the engine's inference seconds, median of ${SPEED_RUNS} after a warm-up; CPU with 1 thread):

| device | task | GPU tokens/s | CPU tokens/s | GPU / CPU |
| --- | --- | ---: | ---: | ---: |
${spd.join("\n")}
`;
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

await main();
