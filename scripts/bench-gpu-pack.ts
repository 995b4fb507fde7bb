/**
 * Packs what `npm run bench:gpu` needs on the lent GPU machine (no Node, no registry there) into the git-ignored
 * .carry/gpu/ (about 50 MB; the device tool carries 64 MiB at most), see docs/gpu.md:
 *   node.xz          this Node 22 binary, xz-compressed
 *   ort.tar.xz       node_modules/onnxruntime-node (linux/x64 binaries, dist, package.json) + onnxruntime-common
 *   app/*.mjs        esbuild bundles: run-task.mjs (the `run-task` command alone), gpu-determinism.mjs,
 *                    make-random-llama.mjs (sharp, which only transformers.js' image code uses, replaced by a stub)
 *   models/stories260K  a copy of the test model
 * Run: npx tsx scripts/bench-gpu-pack.ts
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { defaultModelsDir, repoRoot } from "../worker/paths.js";

const carry = path.join(repoRoot, ".carry", "gpu");
const app = path.join(carry, "app");
const scratch = path.join(carry, "src");

function sh(command: string, args: string[], options: { cwd?: string } = {}): void {
  execFileSync(command, args, { stdio: "inherit", cwd: options.cwd ?? repoRoot });
}

rmSync(carry, { recursive: true, force: true });
mkdirSync(app, { recursive: true });
mkdirSync(scratch, { recursive: true });

if (!process.version.startsWith("v22.")) throw new Error(`run this with Node 22 (got ${process.version}): its binary is what gets carried`);
sh("sh", ["-c", `xz -6 -T2 -c "${process.execPath}" > "${path.join(carry, "node.xz")}"`]);

sh("tar", [
  "-cJf",
  path.join(carry, "ort.tar.xz"),
  "-C",
  repoRoot,
  "node_modules/onnxruntime-node/bin/napi-v6/linux/x64",
  "node_modules/onnxruntime-node/dist",
  "node_modules/onnxruntime-node/package.json",
  "node_modules/onnxruntime-common/dist",
  "node_modules/onnxruntime-common/package.json",
]);

const sharpStub = path.join(scratch, "sharp-stub.mjs");
writeFileSync(sharpStub, "export default function sharp() { throw new Error('sharp is not carried to the GPU machine'); }\n");
const runTaskEntry = path.join(scratch, "run-task-entry.ts");
writeFileSync(
  runTaskEntry,
  `import { Command } from "commander";
import { registerRunTask } from ${JSON.stringify(path.join(repoRoot, "worker/cli/run-task.ts"))};
const program = new Command("triad");
registerRunTask(program);
await program.parseAsync(process.argv);
`,
);
const entries: [string, string][] = [
  [runTaskEntry, "run-task.mjs"],
  [path.join(repoRoot, "scripts/gpu-determinism.ts"), "gpu-determinism.mjs"],
  [path.join(repoRoot, "scripts/make-random-llama.ts"), "make-random-llama.mjs"],
];
for (const [entry, out] of entries) {
  sh(path.join(repoRoot, "node_modules/.bin/esbuild"), [
    entry,
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node22",
    `--outfile=${path.join(app, out)}`,
    "--external:onnxruntime-node",
    "--external:onnxruntime-common",
    `--alias:sharp=${sharpStub}`,
    // CommonJS dependencies inside an ESM bundle need a require().
    "--banner:js=import { createRequire as __triadRequire } from 'node:module'; const require = __triadRequire(import.meta.url);",
    "--log-level=warning",
  ]);
}
rmSync(scratch, { recursive: true, force: true });

cpSync(path.join(defaultModelsDir(), "stories260K"), path.join(carry, "models", "stories260K"), { recursive: true });

const size = execFileSync("du", ["-sb", carry], { encoding: "utf8" }).split("\t")[0];
console.log(
  `${carry}: ${(Number(size) / 2 ** 20).toFixed(1)} MiB (node.xz ${(statSync(path.join(carry, "node.xz")).size / 2 ** 20).toFixed(1)} MiB)`,
);
