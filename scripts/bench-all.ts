/**
 * `npm run bench`: every benchmark in one go, each in its own process, then bench/suite.json + bench/suite.md.
 *   engine        scripts/bench-engine.ts        -> bench/engine.{json,md}  (ours vs transformers.js vs bare loop)
 *   families      scripts/bench-families.ts      -> bench/families.{json,md} (family fixtures: ours vs bare loop) and
 *                                                   bench/engine.md's family section (after engine, which keeps it)
 *   random-llama  scripts/bench-random-llama.ts  -> bench/random-llama.{json,md} (~100M / ~400M vs bandwidth limit)
 *   gas           scripts/gas-report.ts (hardhat run), its stdout kept as-is -> bench/gas.txt
 *   network       scripts/bench-network.ts when present -> bench/network.{json,md}; a failure skips it with the reason
 * Exit status 1 when a required step (engine, families, random-llama, gas) failed.
 * Run: npm run bench [-- --only engine,gas]
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../worker/paths.js";

interface Step {
  name: string;
  command: string[];
  required: boolean;
  /** Why the step is not run at all (checked before starting it). */
  skipReason?: () => string | undefined;
  outputs: string[];
}

interface StepResult {
  name: string;
  status: "ok" | "failed" | "skipped";
  seconds: number;
  exitCode?: number;
  reason?: string;
  outputs: string[];
  stdout: string;
}

const STEPS: Step[] = [
  {
    name: "engine",
    command: ["npx", "--no-install", "tsx", "scripts/bench-engine.ts", "--runs", "15"],
    required: true,
    outputs: ["bench/engine.json", "bench/engine.md"],
  },
  {
    name: "families",
    command: ["npx", "--no-install", "tsx", "scripts/bench-families.ts"],
    required: true,
    outputs: ["bench/families.json", "bench/families.md", "bench/engine.md"],
  },
  {
    name: "random-llama",
    command: ["npx", "--no-install", "tsx", "scripts/bench-random-llama.ts"],
    required: true,
    outputs: ["bench/random-llama.json", "bench/random-llama.md"],
  },
  { name: "gas", command: ["npx", "--no-install", "hardhat", "run", "scripts/gas-report.ts"], required: true, outputs: ["bench/gas.txt"] },
  {
    name: "network",
    command: ["npx", "--no-install", "tsx", "scripts/bench-network.ts"],
    required: false,
    skipReason: () => (existsSync(path.join(repoRoot, "scripts/bench-network.ts")) ? undefined : "scripts/bench-network.ts does not exist"),
    outputs: ["bench/network.json", "bench/network.md"],
  },
];

const { values: flags } = parseArgs({ options: { only: { type: "string" } } });
const only = flags.only?.split(",").map((s) => s.trim());

/** Runs a command in the repository root, streaming its output through while keeping stdout. */
function runStep(command: string[]): Promise<{ exitCode: number; stdout: string; stderrTail: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    child.on("error", (error) => resolve({ exitCode: 127, stdout, stderrTail: error.message }));
    child.on("close", (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderrTail: lastLines(stderr, 3) }));
  });
}

function lastLines(text: string, count: number): string {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.includes("Unknown user config"))
    .slice(-count)
    .join(" | ");
}

async function main() {
  const results: StepResult[] = [];
  for (const step of STEPS) {
    if (only && !only.includes(step.name)) continue;
    const skip = step.skipReason?.();
    if (skip) {
      console.log(`== ${step.name}: skipped: ${skip}`);
      results.push({ name: step.name, status: "skipped", seconds: 0, reason: skip, outputs: [], stdout: "" });
      continue;
    }
    console.log(`== ${step.name}: ${step.command.join(" ")}`);
    const started = performance.now();
    const { exitCode, stdout, stderrTail } = await runStep(step.command);
    const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
    if (step.name === "gas" && exitCode === 0) await writeFile(path.join(repoRoot, "bench/gas.txt"), stdout);
    if (exitCode === 0) {
      results.push({ name: step.name, status: "ok", seconds, exitCode, outputs: step.outputs, stdout });
    } else if (step.required) {
      console.log(`== ${step.name}: FAILED (exit ${exitCode}): ${stderrTail}`);
      results.push({ name: step.name, status: "failed", seconds, exitCode, reason: stderrTail, outputs: [], stdout });
    } else {
      const reason = `${path.basename(step.command[step.command.length - 1])} failed (exit ${exitCode}): ${stderrTail}`;
      console.log(`== ${step.name}: skipped: ${reason}`);
      results.push({ name: step.name, status: "skipped", seconds, exitCode, reason, outputs: [], stdout: "" });
    }
  }
  if (only) {
    // A partial run refreshes its steps' own outputs; the suite summary describes complete runs only.
    console.log("partial run (--only): bench/suite.json and bench/suite.md left as they were");
    if (results.some((r) => r.status === "failed")) process.exitCode = 1;
    return;
  }
  await writeFile(
    path.join(repoRoot, "bench/suite.json"),
    `${JSON.stringify({ steps: results.map(({ stdout: _, ...rest }) => rest) }, null, 2)}\n`,
  );
  await writeFile(path.join(repoRoot, "bench/suite.md"), await markdown(results));
  console.log(`wrote bench/suite.json and bench/suite.md`);
  if (results.some((r) => r.status === "failed")) process.exitCode = 1;
}

async function markdown(results: StepResult[]): Promise<string> {
  const lines = [
    "# Benchmark suite (`npm run bench`)",
    "",
    "| step | status | seconds | output |",
    "| --- | --- | ---: | --- |",
    ...results.map(
      (r) => `| ${r.name} | ${r.status}${r.reason ? `: ${r.reason.replace(/\|/g, "/")}` : ""} | ${r.seconds} | ${r.outputs.join(", ")} |`,
    ),
    "",
  ];
  for (const r of results) {
    if (r.status !== "ok") continue;
    if (r.name === "gas") {
      lines.push("## Chain gas (scripts/gas-report.ts, output as printed)", "", "```", r.stdout.trimEnd(), "```", "");
      continue;
    }
    const table = r.outputs.find((file) => file.endsWith(".md"));
    if (table) lines.push(demoteHeadings(await readFile(path.join(repoRoot, table), "utf8")), "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function demoteHeadings(text: string): string {
  return text.replace(/^(#+) /gm, "#$1 ");
}

await main();
