/**
 * Engine decoding speed on random-weight Llama models (~100M and ~400M parameters, fp32, CPU) against the
 * memory-bandwidth limit: every decoding step reads all weights but the embedding table once, so
 * tokens/s <= bandwidth / weight bytes per token. Bandwidth is measured in the same run (a large Float32Array
 * copy, one thread like the engine's default; bytes read + written). Models are generated on first use with
 * scripts/make-random-llama.ts into --models-dir (default /tmp/triad-random-models), never into the repository.
 * Writes bench/random-llama.json and bench/random-llama.md.
 * Run: npx tsx scripts/bench-random-llama.ts [--sizes 100m,400m] [--new-tokens 32] [--threads 1] [--models-dir DIR]
 */
import { stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { greedyOrSample } from "../worker/engine/decode-loop.js";
import { ForwardPass } from "../worker/engine/forward.js";
import { resolveGenerationConfig } from "../worker/engine/generation-config.js";
import { loadModel, releaseModel } from "../worker/engine/model-loader.js";
import { repoRoot } from "../worker/paths.js";
import {
  DEFAULT_OUT_DIR,
  checkOutDir,
  defaultName,
  makeRandomLlama,
  parameterCount,
  weightBytesPerToken,
  type LlamaShape,
} from "./make-random-llama.js";

const SIZES: Record<string, LlamaShape> = {
  "100m": { hidden: 768, layers: 14, heads: 12, kvHeads: 12, intermediate: 2048, vocab: 512, context: 2048 },
  "400m": { hidden: 1280, layers: 20, heads: 20, kvHeads: 20, intermediate: 3456, vocab: 512, context: 2048 },
};
const PROMPT_TOKENS = 8;
const RUNS = 3;

const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "100m,400m" },
    "new-tokens": { type: "string", default: "32" },
    threads: { type: "string", default: "1" },
    "models-dir": { type: "string", default: DEFAULT_OUT_DIR },
  },
});
const NEW_TOKENS = Number(flags["new-tokens"]);
const THREADS = Number(flags.threads);
const modelsDir = checkOutDir(flags["models-dir"]);

/** Best of several copies of a 512 MiB Float32Array: bytes read + bytes written per second. */
function measureBandwidth(): number {
  const elements = 128 * 2 ** 20;
  const source = new Float32Array(elements).fill(1);
  const target = new Float32Array(elements);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    target.set(source);
    best = Math.min(best, performance.now() - started);
  }
  return (2 * source.byteLength) / (best / 1000);
}

async function ensureModel(size: string, shape: LlamaShape): Promise<string> {
  const name = defaultName(shape);
  const exists = await stat(path.join(modelsDir, name, "onnx", "model.onnx")).then(
    () => true,
    () => false,
  );
  if (!exists) {
    console.log(`generating ${size} (${name}) in ${modelsDir}...`);
    await makeRandomLlama({ ...shape, outDir: modelsDir, name, seed: 1 });
  }
  return name;
}

async function benchSize(size: string, bandwidth: number) {
  const shape = SIZES[size];
  if (!shape) throw new Error(`--sizes: unknown size ${size} (known: ${Object.keys(SIZES).join(", ")})`);
  const name = await ensureModel(size, shape);
  const model = await loadModel({ model: name }, modelsDir, false, {
    device: "cpu",
    intraOpThreads: THREADS,
    interOpThreads: THREADS,
    graphOptimizationLevel: "all",
  });
  try {
    const promptIds = Array.from({ length: PROMPT_TOKENS }, (_, i) => 1 + ((i * 37) % 500));
    const config = { ...resolveGenerationConfig({ max_new_tokens: NEW_TOKENS }, model.generationConfig, model.config), eos_token_ids: [] };
    const rates: number[] = [];
    for (let run = 0; run <= RUNS; run++) {
      const started = performance.now();
      const [sequence] = await greedyOrSample(new ForwardPass(model), promptIds, config, [], 0);
      const rate = sequence.tokenIds.length / ((performance.now() - started) / 1000);
      if (run > 0) rates.push(rate); // run 0 warms up
    }
    rates.sort((a, b) => a - b);
    const tokensPerSecond = rates[Math.floor(rates.length / 2)];
    const bytesPerToken = weightBytesPerToken(shape);
    const limit = bandwidth / bytesPerToken;
    return {
      size,
      model: name,
      shape,
      parameters: parameterCount(shape),
      weightBytesPerToken: bytesPerToken,
      tokensPerSecond: round(tokensPerSecond, 2),
      bandwidthLimitTokensPerSecond: round(limit, 2),
      fractionOfLimit: round(tokensPerSecond / limit, 3),
    };
  } finally {
    await releaseModel(model);
  }
}

async function main() {
  const bandwidth = measureBandwidth();
  console.log(`memory bandwidth (1 thread, copy): ${(bandwidth / 1e9).toFixed(1)} GB/s`);
  const results = [];
  for (const size of flags.sizes.split(",").map((s) => s.trim().toLowerCase())) {
    const result = await benchSize(size, bandwidth);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const report = {
    what: "engine greedy decoding (CPU, fp32) on random-weight Llama models vs. the memory-bandwidth limit",
    promptTokens: PROMPT_TOKENS,
    newTokens: NEW_TOKENS,
    runs: RUNS,
    statistic: "median tokens/s of RUNS runs after a warm-up run; prefill included",
    threads: { intraOp: THREADS, interOp: THREADS },
    bandwidthBytesPerSecond: Math.round(bandwidth),
    bandwidthMethod: "best of 5 copies of a 512 MiB Float32Array (TypedArray.set), bytes read + written, one thread",
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      onnxruntime: ort.env.versions.node,
    },
    results,
  };
  await writeFile(path.join(repoRoot, "bench/random-llama.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(repoRoot, "bench/random-llama.md"), markdown(report));
}

function markdown(report: {
  results: Awaited<ReturnType<typeof benchSize>>[];
  bandwidthBytesPerSecond: number;
  machine: Record<string, unknown>;
  newTokens: number;
  threads: { intraOp: number };
}): string {
  const rows = report.results.map((r) => {
    const shape = `${r.shape.hidden} / ${r.shape.layers} / ${r.shape.heads} / ${r.shape.intermediate}`;
    const cells = [
      r.model,
      `${(r.parameters / 1e6).toFixed(1)}M`,
      shape,
      `${(r.weightBytesPerToken / 1e6).toFixed(0)} MB`,
      r.tokensPerSecond,
      r.bandwidthLimitTokensPerSecond,
      `**${(r.fractionOfLimit * 100).toFixed(0)}%**`,
    ];
    return `| ${cells.join(" | ")} |`;
  });
  const bandwidth = `**${(report.bandwidthBytesPerSecond / 1e9).toFixed(1)} GB/s**`;
  return `# Engine on larger (random-weight) Llama models vs. the memory-bandwidth limit

Produced by \`npx tsx scripts/bench-random-llama.ts\` (part of \`npm run bench\`): greedy decoding, ${report.newTokens} new tokens after
an 8-token prompt, CPU, fp32, ${report.threads.intraOp} intra-op + ${report.threads.intraOp} inter-op thread; models from
\`scripts/make-random-llama.ts\` (vocab 512). Measured memory bandwidth in the same run: ${bandwidth}
(one-thread Float32Array copy, read + write). Limit = bandwidth / weight bytes read per token (all fp32 weights but the
embedding table). Machine: ${report.machine.cpu} (${report.machine.cores} cores, shared, ${report.machine.memoryGiB} GiB).

| model | parameters | hidden / layers / heads / MLP | weights read per token | tokens/s | bandwidth limit, tokens/s | share of limit |
| --- | ---: | --- | ---: | ---: | ---: | ---: |
${rows.join("\n")}
`;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

await main();
