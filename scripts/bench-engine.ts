/**
 * Decoding speed on stories260K (CPU, fp32, 1 intra-op + 1 inter-op thread for every contender):
 *   - engine:   our greedy loop (worker/engine decode loop, KV cache, processors hook, stop checks)
 *   - bare:     the same ONNX session driven by a minimal forward + argmax loop (no processing at all)
 *   - transformers.js: AutoModelForCausalLM.generate() greedy
 * Writes bench/engine.json and bench/engine.md.  Run: npx tsx scripts/bench-engine.ts
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { AutoModelForCausalLM, AutoTokenizer, env } from "@huggingface/transformers";
import * as ort from "onnxruntime-node";
import { greedyOrSample } from "../worker/engine/decode-loop.js";
import { ForwardPass } from "../worker/engine/forward.js";
import { resolveGenerationConfig } from "../worker/engine/generation-config.js";
import { argmax } from "../worker/engine/logits-processors.js";
import { loadModel, type LoadedModel } from "../worker/engine/model-loader.js";
import { defaultModelsDir, repoRoot } from "../worker/paths.js";

const MODEL = "stories260K";
const PROMPT = "Once upon a time";
const NEW_TOKENS = 256;
const RUNS = 15;
const THREADS = 1;

const modelsDir = defaultModelsDir();

type Contender = () => Promise<number>;

/**
 * Runs the contenders round-robin (so load from other processes hits them alike), one warm-up round,
 * then RUNS rounds; reports each contender's median tokens/s.
 */
async function measure(contenders: Record<string, Contender>): Promise<Record<string, { tokensPerSecond: number; tokens: number }>> {
  const rates: Record<string, number[]> = {};
  const tokens: Record<string, number> = {};
  for (const once of Object.values(contenders)) await once();
  for (let round = 0; round < RUNS; round++) {
    for (const [name, once] of Object.entries(contenders)) {
      const started = performance.now();
      tokens[name] = await once();
      (rates[name] ??= []).push(tokens[name] / ((performance.now() - started) / 1000));
    }
  }
  return Object.fromEntries(
    Object.entries(rates).map(([name, list]) => {
      list.sort((a, b) => a - b);
      return [name, { tokensPerSecond: list[Math.floor(list.length / 2)], tokens: tokens[name] }];
    }),
  );
}

/** Our loop, with no stop ids so every contender generates exactly NEW_TOKENS. */
async function engineLoop(model: LoadedModel, promptIds: number[]): Promise<number> {
  const config = { ...resolveGenerationConfig({ max_new_tokens: NEW_TOKENS }, model.generationConfig, model.config), eos_token_ids: [] };
  const [sequence] = await greedyOrSample(new ForwardPass(model), promptIds, config, [], 0);
  return sequence.tokenIds.length;
}

/** The floor: session.run + argmax, tensors built inline, nothing else. */
async function bareLoop(model: LoadedModel, promptIds: number[]): Promise<number> {
  const { heads, headDim } = model.kvShape;
  let feeds: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < model.numLayers; layer++) {
    for (const kind of ["key", "value"]) {
      feeds[`past_key_values.${layer}.${kind}`] = new ort.Tensor("float32", new Float32Array(0), [1, heads, 0, headDim]);
    }
  }
  let input = promptIds;
  let past = 0;
  const vocab = Number(model.config.vocab_size);
  for (let generated = 0; generated < NEW_TOKENS; generated++) {
    const total = past + input.length;
    feeds.input_ids = new ort.Tensor("int64", BigInt64Array.from(input, BigInt), [1, input.length]);
    feeds.attention_mask = new ort.Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]);
    feeds.position_ids = new ort.Tensor("int64", BigInt64Array.from(input, (_, i) => BigInt(past + i)), [1, input.length]);
    const outputs = await model.session.run(feeds);
    const logits = outputs.logits.data as Float32Array;
    const next = argmax(logits.subarray(logits.length - vocab));
    const nextFeeds: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < model.numLayers; layer++) {
      nextFeeds[`past_key_values.${layer}.key`] = outputs[`present.${layer}.key`];
      nextFeeds[`past_key_values.${layer}.value`] = outputs[`present.${layer}.value`];
    }
    feeds = nextFeeds;
    past = total;
    input = [next];
  }
  return NEW_TOKENS;
}

async function main() {
  const model = await loadModel({ model: MODEL }, modelsDir, false, {
    device: "cpu",
    intraOpThreads: THREADS,
    interOpThreads: THREADS,
    graphOptimizationLevel: "all",
  });
  const promptIds = model.tokenizer.encode(PROMPT);

  env.allowRemoteModels = false;
  env.localModelPath = `${modelsDir}/`;
  const tokenizer = await AutoTokenizer.from_pretrained(MODEL);
  const hfModel = await AutoModelForCausalLM.from_pretrained(MODEL, {
    dtype: "fp32",
    device: "cpu",
    session_options: { intraOpNumThreads: THREADS, interOpNumThreads: THREADS, graphOptimizationLevel: "all" },
  });
  const inputs = tokenizer(PROMPT);
  const transformersJs = async () => {
    const output = (await hfModel.generate({
      ...inputs,
      max_new_tokens: NEW_TOKENS,
      min_new_tokens: NEW_TOKENS,
      do_sample: false,
    })) as { dims: number[] };
    return output.dims[1] - promptIds.length;
  };

  const results = await measure({
    bare: () => bareLoop(model, promptIds),
    engine: () => engineLoop(model, promptIds),
    transformersJs,
  });
  const report = {
    model: `${MODEL} (fp32 ONNX)`,
    prompt: PROMPT,
    newTokens: NEW_TOKENS,
    runs: RUNS,
    statistic: "median tokens/s over runs (contenders interleaved round-robin), after one warm-up round",
    threads: { intraOp: THREADS, interOp: THREADS },
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, onnxruntime: ort.env.versions.node },
    tokensPerSecond: {
      engine: round(results.engine.tokensPerSecond),
      bareForwardArgmax: round(results.bare.tokensPerSecond),
      transformersJsGenerate: round(results.transformersJs.tokensPerSecond),
    },
    ratios: {
      engineOverBare: round(results.engine.tokensPerSecond / results.bare.tokensPerSecond, 3),
      engineOverTransformersJs: round(results.engine.tokensPerSecond / results.transformersJs.tokensPerSecond, 3),
    },
    generatedTokens: { engine: results.engine.tokens, bare: results.bare.tokens, transformersJs: results.transformersJs.tokens },
  };
  await writeFile(path.join(repoRoot, "bench/engine.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(repoRoot, "bench/engine.md"), markdown(report));
  console.log(JSON.stringify(report, null, 2));
  await model.session.release();
  await hfModel.dispose();
}

function markdown(report: {
  tokensPerSecond: Record<string, number>;
  ratios: Record<string, number>;
  machine: Record<string, unknown>;
  newTokens: number;
  runs: number;
}): string {
  return `# Engine decoding speed (stories260K, CPU, fp32, 1 intra-op + 1 inter-op thread)

Produced by \`npx tsx scripts/bench-engine.ts\`: greedy decoding of ${report.newTokens} new tokens after
"${PROMPT}", median of ${report.runs} runs (the three contenders interleaved round-robin) after a warm-up round. Machine: ${report.machine.cpu} (${report.machine.cores} cores,
shared), Node ${report.machine.node}, onnxruntime-node ${report.machine.onnxruntime}.

| loop | tokens/s |
| --- | ---: |
| our greedy loop (worker/engine) | ${report.tokensPerSecond.engine} |
| bare forward + argmax, same ORT session | ${report.tokensPerSecond.bareForwardArgmax} |
| transformers.js \`generate()\` (greedy) | ${report.tokensPerSecond.transformersJsGenerate} |

- ours / bare: **${report.ratios.engineOverBare}** (goal >= 0.95)
- ours / transformers.js: **${report.ratios.engineOverTransformersJs}** (goal > 1)
`;
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

await main();
