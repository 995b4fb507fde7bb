/**
 * Writes a Llama-architecture model with random weights in transformers.js layout (the writer:
 * worker/engine/fixtures/random-llama.ts, re-exported here for tests and bench scripts).
 *
 * Run: npx tsx scripts/make-random-llama.ts --hidden 768 --layers 14 --heads 12 [--kv-heads 12]
 *        [--intermediate 2048] [--vocab 512] [--context 2048] [--seed 1] [--out /tmp/triad-random-models] [--name NAME]
 */
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import {
  BASE_VOCAB,
  DEFAULT_OUT_DIR,
  defaultName,
  makeRandomLlama,
  parameterCount,
  type LlamaShape,
} from "../worker/engine/fixtures/random-llama.js";

export * from "../worker/engine/fixtures/random-llama.js";

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hidden: { type: "string", default: "768" },
      layers: { type: "string", default: "14" },
      heads: { type: "string", default: "12" },
      "kv-heads": { type: "string" },
      intermediate: { type: "string" },
      vocab: { type: "string", default: String(BASE_VOCAB) },
      context: { type: "string", default: "2048" },
      seed: { type: "string", default: "1" },
      out: { type: "string", default: DEFAULT_OUT_DIR },
      name: { type: "string" },
    },
  });
  const hidden = Number(values.hidden);
  const shape: LlamaShape = {
    hidden,
    layers: Number(values.layers),
    heads: Number(values.heads),
    kvHeads: Number(values["kv-heads"] ?? values.heads),
    intermediate: Number(values.intermediate ?? Math.round((hidden * 8) / 3 / 64) * 64),
    vocab: Number(values.vocab),
    context: Number(values.context),
  };
  const name = values.name ?? defaultName(shape);
  const started = performance.now();
  const dir = await makeRandomLlama({ ...shape, outDir: values.out, name, seed: Number(values.seed) });
  console.log(`${dir}: ${(parameterCount(shape) / 1e6).toFixed(1)}M parameters in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await cli();
