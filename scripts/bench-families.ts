/**
 * Decoding speed on the random-weight model-family fixtures (every FAMILIES entry of worker/engine/fixtures/family-fixtures.ts:
 * Qwen3, Llama 3.2 q4f16, Qwen2.5, Gemma 3, Phi-3.5 ...; CPU, 1 intra-op + 1 inter-op thread), greedy, a chat prompt,
 * NEW_TOKENS new tokens:
 *   - engine: our loop (worker/engine decode loop, KV cache, stop checks disabled so both make NEW_TOKENS)
 *   - bare:   the same ONNX session driven by a minimal forward loop (feeds the graph's inputs, argmax, nothing else)
 * in the same run, interleaved round-robin, median of --runs. Writes bench/families.json and bench/families.md, and
 * renders the same table into bench/engine.md's family-fixture section (scripts/lib/families-report.ts).
 * Run: npx tsx scripts/bench-families.ts [--runs N] [--family phi3.5 ...]
 * With --family only those families are measured; their rows replace (or join) those of bench/families.json.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { greedyOrSample } from "../worker/engine/decode-loop.js";
import { ForwardPass } from "../worker/engine/forward.js";
import { resolveGenerationConfig } from "../worker/engine/generation-config.js";
import { argmax, buildProcessors } from "../worker/engine/logits-processors.js";
import { loadModel, releaseModel, type LoadedModel } from "../worker/engine/model-loader.js";
import { promptTokenIds } from "../worker/engine/prompt.js";
import { repoRoot } from "../worker/paths.js";
import { bareForwardLoop } from "./lib/bare-loop.js";
import { FAMILIES, makeFamilyFixture } from "../worker/engine/fixtures/family-fixtures.js";
import { FAMILIES_JSON, familiesMarkdown, withFamiliesSection, type FamiliesReport, type FamilyResult } from "./lib/families-report.js";

const NEW_TOKENS = 32;
const MESSAGES = [
  { role: "system" as const, content: "You are a helpful assistant." },
  { role: "user" as const, content: "Tell me a short story about a girl named Lily who finds a big red ball in the park." },
];

const { values: flags } = parseArgs({ options: { runs: { type: "string", default: "7" }, family: { type: "string", multiple: true } } });
const RUNS = Number(flags.runs);
const unknown = (flags.family ?? []).filter((name) => !FAMILIES.some((f) => f.family === name));
if (unknown.length > 0) throw new Error(`--family ${unknown.join(", ")}: not one of ${FAMILIES.map((f) => f.family).join(", ")}`);
const CHOSEN = flags.family ? FAMILIES.filter((f) => flags.family!.includes(f.family)) : FAMILIES;

async function engineLoop(model: LoadedModel, promptIds: number[]): Promise<number> {
  const config = { ...resolveGenerationConfig({ max_new_tokens: NEW_TOKENS }, model.generationConfig, model.config), eos_token_ids: [] };
  const [sequence] = await greedyOrSample(new ForwardPass(model), promptIds, config, buildProcessors(config), 0);
  return sequence!.tokenIds.length;
}

/** The floor (scripts/lib/bare-loop.ts) with argmax. */
function bareLoop(model: LoadedModel, promptIds: number[]): Promise<number> {
  return bareForwardLoop(model, promptIds, NEW_TOKENS, argmax);
}

/** Both contenders round-robin, one warm-up round, then RUNS rounds; median tokens/s each. */
async function measure(contenders: Record<string, () => Promise<number>>): Promise<Record<string, number>> {
  const rates: Record<string, number[]> = {};
  for (const once of Object.values(contenders)) await once();
  for (let round = 0; round < RUNS; round++) {
    for (const [name, once] of Object.entries(contenders)) {
      const started = performance.now();
      const tokens = await once();
      rates[name] ??= [];
      rates[name].push(tokens / ((performance.now() - started) / 1000));
    }
  }
  return Object.fromEntries(Object.entries(rates).map(([name, list]) => [name, list.sort((a, b) => a - b)[Math.floor(list.length / 2)]!]));
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "triad-bench-families-"));
  const results: FamilyResult[] = [];
  try {
    for (const fixture of CHOSEN) {
      await makeFamilyFixture(fixture, dir);
      const model = await loadModel({ model: fixture.name }, dir, false, {
        device: "cpu",
        intraOpThreads: 1,
        interOpThreads: 1,
        graphOptimizationLevel: "all",
      });
      try {
        const promptIds = promptTokenIds(model.tokenizer, MESSAGES);
        const rates = await measure({ bare: () => bareLoop(model, promptIds), engine: () => engineLoop(model, promptIds) });
        const result: FamilyResult = {
          family: fixture.family,
          fixture: `${fixture.name} (${model.variant}, KV ${model.kvType}, vocab ${fixture.shape.vocab})`,
          layout: fixture.realModel,
          parameters: (model.config.triad_random_weights as { parameters: number }).parameters,
          promptTokens: promptIds.length,
          tokensPerSecond: { engine: round(rates.engine!), bareForward: round(rates.bare!) },
          engineOverBare: round(rates.engine! / rates.bare!, 3),
        };
        console.log(JSON.stringify(result));
        results.push(result);
      } finally {
        await releaseModel(model);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, onnxruntime: ort.env.versions.node };
  const report: FamiliesReport = {
    newTokens: NEW_TOKENS,
    runs: RUNS,
    threads: { intraOp: 1, interOp: 1 },
    machine,
    results: await withEarlierRows(results),
  };
  await writeFile(FAMILIES_JSON, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(repoRoot, "bench/families.md"), familiesMarkdown(report));
  const engineMd = path.join(repoRoot, "bench/engine.md");
  await writeFile(engineMd, withFamiliesSection(await readFile(engineMd, "utf8"), report));
}

/** With --family, the other families' rows of the earlier report (FAMILIES order); without it, just `results`. */
async function withEarlierRows(results: FamilyResult[]): Promise<FamilyResult[]> {
  if (!flags.family) return results;
  const earlier: FamilyResult[] = await readFile(FAMILIES_JSON, "utf8").then(
    (text) => JSON.parse(text).results,
    () => [],
  );
  const rows = new Map([...earlier, ...results].map((r) => [r.family, r]));
  return FAMILIES.flatMap((f) => rows.get(f.family) ?? []);
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

await main();
