/**
 * Decoding speed on stories260K (CPU, fp32, the same intra-/inter-op threads for every contender), greedy and
 * sampling (top_k 50, temperature 1), prompts of 8 / 128 / 400 tokens, NEW_TOKENS new tokens each:
 *   - engine:   our loop (worker/engine decode loop, KV cache, logits processors, stop checks)
 *   - bare:     the same ONNX session driven by a minimal forward loop (argmax, or top-50 + draw; nothing else)
 *   - transformers.js: AutoModelForCausalLM.generate()
 * Tokens/s counts new tokens over the whole call (prefill included). Writes bench/engine.json and bench/engine.md
 * (its family-fixture section rendered from bench/families.json, written by scripts/bench-families.ts).
 * Run: npx tsx scripts/bench-engine.ts [--threads N] [--runs N]
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { AutoModelForCausalLM, AutoTokenizer, Tensor, env } from "@huggingface/transformers";
import * as ort from "onnxruntime-node";
import { greedyOrSample } from "../worker/engine/decode-loop.js";
import { ForwardPass } from "../worker/engine/forward.js";
import { resolveGenerationConfig } from "../worker/engine/generation-config.js";
import { argmax, buildProcessors } from "../worker/engine/logits-processors.js";
import { loadModel, type LoadedModel } from "../worker/engine/model-loader.js";
import { defaultModelsDir, repoRoot } from "../worker/paths.js";
import { bareForwardLoop } from "./lib/bare-loop.js";
import { readFamiliesReport, withFamiliesSection } from "./lib/families-report.js";

const MODEL = "stories260K";
const PROMPT_LENGTHS = [8, 128, 400];
const NEW_TOKENS = 100; // 400 + 100 stays inside the model's 512-token context
const TOP_K = 50;
const STORY =
  "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. " +
  "One day, she saw a big red ball under a tree. She ran to the ball and kicked it very high. ";

const { values: flags } = parseArgs({ options: { threads: { type: "string", default: "1" }, runs: { type: "string", default: "7" } } });
const THREADS = Number(flags.threads);
const RUNS = Number(flags.runs);
const modelsDir = defaultModelsDir();

type Mode = "greedy" | "sampling";
type Contender = () => Promise<number>;
interface Rate {
  tokensPerSecond: number;
  tokens: number;
}

/**
 * Runs the contenders round-robin (so load from other processes hits them alike), one warm-up round,
 * then RUNS rounds; reports each contender's median tokens/s.
 */
async function measure(contenders: Record<string, Contender>): Promise<Record<string, Rate>> {
  const rates: Record<string, number[]> = {};
  const tokens: Record<string, number> = {};
  for (const once of Object.values(contenders)) await once();
  for (let round = 0; round < RUNS; round++) {
    for (const [name, once] of Object.entries(contenders)) {
      const started = performance.now();
      tokens[name] = await once();
      rates[name] ??= [];
      rates[name].push(tokens[name] / ((performance.now() - started) / 1000));
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
async function engineLoop(model: LoadedModel, promptIds: number[], mode: Mode, seed: number): Promise<number> {
  const task = mode === "greedy" ? { max_new_tokens: NEW_TOKENS } : { max_new_tokens: NEW_TOKENS, do_sample: true, top_k: TOP_K };
  const config = { ...resolveGenerationConfig(task, model.generationConfig, model.config), eos_token_ids: [] };
  const [sequence] = await greedyOrSample(new ForwardPass(model), promptIds, config, buildProcessors(config), seed);
  return sequence.tokenIds.length;
}

/** The floor (scripts/lib/bare-loop.ts): argmax, or top-k and one draw. */
function bareLoop(model: LoadedModel, promptIds: number[], mode: Mode): Promise<number> {
  return bareForwardLoop(model, promptIds, NEW_TOKENS, mode === "greedy" ? argmax : (logits) => drawTopK(logits, TOP_K));
}

function drawTopK(logits: Float32Array, k: number): number {
  const ids = Array.from(logits.keys())
    .sort((a, b) => logits[b] - logits[a])
    .slice(0, k);
  const max = logits[ids[0]];
  const weights = ids.map((id) => Math.exp(logits[id] - max));
  let u = Math.random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < ids.length; i++) {
    u -= weights[i];
    if (u <= 0) return ids[i];
  }
  return ids[ids.length - 1];
}

/** A prompt of exactly `length` token ids (BOS + story text, repeated as needed). */
function promptOfLength(model: LoadedModel, length: number): number[] {
  const ids = model.tokenizer.encode(STORY.repeat(Math.ceil(length / 20)));
  if (ids.length < length) throw new Error(`story text too short for a ${length}-token prompt`);
  return ids.slice(0, length);
}

interface CaseResult {
  mode: Mode;
  promptTokens: number;
  tokensPerSecond: { engine: number; bareForward: number; transformersJsGenerate: number };
  ratios: { engineOverBare: number; engineOverTransformersJs: number };
  generatedTokens: { engine: number; bare: number; transformersJs: number };
}

async function main() {
  const model = await loadModel({ model: MODEL }, modelsDir, false, {
    device: "cpu",
    intraOpThreads: THREADS,
    interOpThreads: THREADS,
    graphOptimizationLevel: "all",
  });
  env.allowRemoteModels = false;
  env.localModelPath = `${modelsDir}/`;
  await AutoTokenizer.from_pretrained(MODEL);
  const hfModel = await AutoModelForCausalLM.from_pretrained(MODEL, {
    dtype: "fp32",
    device: "cpu",
    session_options: { intraOpNumThreads: THREADS, interOpNumThreads: THREADS, graphOptimizationLevel: "all" },
  });

  const cases: CaseResult[] = [];
  for (const mode of ["greedy", "sampling"] as const) {
    for (const promptTokens of PROMPT_LENGTHS) {
      const promptIds = promptOfLength(model, promptTokens);
      const inputIds = new Tensor("int64", BigInt64Array.from(promptIds, BigInt), [1, promptTokens]);
      const attentionMask = new Tensor("int64", new BigInt64Array(promptTokens).fill(1n), [1, promptTokens]);
      let seed = 0;
      const transformersJs = async () => {
        const output = (await hfModel.generate({
          input_ids: inputIds,
          attention_mask: attentionMask,
          max_new_tokens: NEW_TOKENS,
          min_new_tokens: NEW_TOKENS,
          do_sample: mode === "sampling",
          ...(mode === "sampling" ? { top_k: TOP_K, temperature: 1 } : {}),
        } as Parameters<typeof hfModel.generate>[0])) as { dims: number[] };
        return output.dims[1] - promptTokens;
      };
      const r = await measure({
        bare: () => bareLoop(model, promptIds, mode),
        engine: () => engineLoop(model, promptIds, mode, seed++),
        transformersJs,
      });
      const result: CaseResult = {
        mode,
        promptTokens,
        tokensPerSecond: {
          engine: round(r.engine.tokensPerSecond),
          bareForward: round(r.bare.tokensPerSecond),
          transformersJsGenerate: round(r.transformersJs.tokensPerSecond),
        },
        ratios: {
          engineOverBare: round(r.engine.tokensPerSecond / r.bare.tokensPerSecond, 3),
          engineOverTransformersJs: round(r.engine.tokensPerSecond / r.transformersJs.tokensPerSecond, 3),
        },
        generatedTokens: { engine: r.engine.tokens, bare: r.bare.tokens, transformersJs: r.transformersJs.tokens },
      };
      console.log(JSON.stringify(result));
      cases.push(result);
    }
  }

  const report = {
    model: `${MODEL} (fp32 ONNX)`,
    newTokens: NEW_TOKENS,
    promptLengths: PROMPT_LENGTHS,
    sampling: `do_sample, top_k ${TOP_K}, temperature 1`,
    runs: RUNS,
    statistic: "median tokens/s over runs (contenders interleaved round-robin), after one warm-up round; prefill included",
    threads: { intraOp: THREADS, interOp: THREADS },
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, onnxruntime: ort.env.versions.node },
    cases,
  };
  await writeFile(path.join(repoRoot, "bench/engine.json"), `${JSON.stringify(report, null, 2)}\n`);
  // The family-fixture section is rendered from bench/families.json (scripts/bench-families.ts), kept as it is.
  await writeFile(path.join(repoRoot, "bench/engine.md"), withFamiliesSection(markdown(report), readFamiliesReport()));
  await model.session.release();
  await hfModel.dispose();
}

function markdown(report: {
  cases: CaseResult[];
  machine: Record<string, unknown>;
  newTokens: number;
  runs: number;
  threads: { intraOp: number };
}): string {
  const rows = report.cases.map((c) =>
    tableRow([
      c.mode,
      c.promptTokens,
      c.tokensPerSecond.engine,
      c.tokensPerSecond.bareForward,
      c.tokensPerSecond.transformersJsGenerate,
      `**${c.ratios.engineOverBare}**`,
      `**${c.ratios.engineOverTransformersJs}**`,
    ]),
  );
  const header = tableRow([
    "decoding",
    "prompt tokens",
    "ours (worker/engine)",
    "bare forward loop",
    "transformers.js `generate()`",
    "ours / bare",
    "ours / transformers.js",
  ]);
  return `# Engine decoding speed (stories260K, CPU, fp32, ${report.threads.intraOp} intra-op + ${report.threads.intraOp} inter-op thread)

Produced by \`npx tsx scripts/bench-engine.ts\` (part of \`npm run bench\`): ${report.newTokens} new tokens after a prompt of
8 / 128 / 400 tokens, greedy and sampling (top_k ${TOP_K}, temperature 1); tokens/s = new tokens / whole call (prefill included),
median of ${report.runs} runs with the three contenders interleaved round-robin, after a warm-up round; ratios are
from the same run. Machine: ${report.machine.cpu} (${report.machine.cores} cores, shared), Node ${report.machine.node},
onnxruntime-node ${report.machine.onnxruntime}.

${header}
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}

Bare loop: the same ONNX session, \`session.run\` + argmax (greedy) or top-50 softmax draw (sampling), nothing else.
Goals: ours / bare >= 0.95, ours / transformers.js > 1.
`;
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

await main();

function tableRow(cells: Array<string | number>): string {
  return `| ${cells.join(" | ")} |`;
}
