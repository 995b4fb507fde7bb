/**
 * Writes a Llama-architecture model with random weights in transformers.js layout, loadable by worker/engine:
 *   <out>/<name>/config.json, generation_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 *   onnx/model.onnx (graph) + onnx/model.onnx_data (fp32 weights as ONNX external data, 4 KiB aligned).
 * The graph has stories260K's I/O: input_ids, attention_mask, position_ids, past_key_values.N.key|value ->
 * logits, present.N.key|value ([batch, kv_heads, seq, head_dim], keys after RoPE), opset 17.
 * The tokenizer is stories260K's (vocab 512); a larger --vocab appends "<extra_N>" tokens that encoding never
 * produces (the embedding and lm_head still have --vocab rows).
 *
 * Run: npx tsx scripts/make-random-llama.ts --hidden 768 --layers 14 --heads 12 [--kv-heads 12]
 *        [--intermediate 2048] [--vocab 512] [--context 2048] [--seed 1] [--out /tmp/triad-random-models] [--name NAME]
 */
import { copyFile, mkdir, open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import {
  DataType,
  encodeModel,
  type AttributeValue,
  type NodeSpec,
  type TensorSpec,
  type ValueInfo,
} from "../worker/engine/onnx-writer.js";
import { defaultModelsDir, repoRoot } from "../worker/paths.js";

export interface LlamaShape {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
  context: number;
}

/**
 * How a model family's transformers.js / onnx-community export differs from stories260K's layout (all optional;
 * the defaults give stories260K's I/O).
 */
export interface ExportLayout {
  /** head_dim from config, when it is not hidden / heads (Qwen3, Gemma 3). */
  headDim?: number;
  /** RMSNorm over each head's queries and keys before RoPE (Qwen3, Gemma 3). */
  qkNorm?: boolean;
  /** Whether the graph takes position_ids (default true); without it positions are past_length + 0..S-1. */
  positionIds?: boolean;
  /** A scalar int64 input `num_logits_to_keep`: logits only for the last N positions. */
  numLogitsToKeep?: boolean;
  /** Element type of past_key_values / present and of logits (fp16 exports); weights stay fp32. */
  kvDtype?: "float32" | "float16";
  /** lm_head is the embedding matrix (tie_word_embeddings). */
  tiedEmbeddings?: boolean;
  /** The ONNX file under onnx/ (default model.onnx), e.g. model_q4f16.onnx; external data is `<file>_data`. */
  onnxFile?: string;
  /** Merged into config.json (model_type, architectures, eos ids, transformers.js_config...). */
  config?: Record<string, unknown>;
  /** Replaces generation_config.json. */
  generationConfig?: Record<string, unknown>;
  /** Copy tokenizer.json and tokenizer_config.json from here (a real tokenizer) instead of stories260K's. */
  tokenizerDir?: string;
  /** Or write these (file name -> JSON), a tokenizer assembled from real parts; config.vocab_size may exceed its size. */
  tokenizerFiles?: Record<string, object>;
}

export interface MakeOptions extends LlamaShape {
  outDir: string;
  name: string;
  seed: number;
  layout?: ExportLayout;
}

export const DEFAULT_OUT_DIR = "/tmp/triad-random-models";
const TOKENIZER_SOURCE = path.join(defaultModelsDir(), "stories260K");
const BASE_VOCAB = 512;
const ALIGN = 4096;
const RMS_EPS = 1e-5;
const ROPE_THETA = 10000;
const INIT_STD = 0.02;

/** Parameter count (untied embedding and lm_head unless the layout ties them). */
export function parameterCount(s: LlamaShape, layout: ExportLayout = {}): number {
  const headDim = layout.headDim ?? s.hidden / s.heads;
  const attention = s.hidden * s.heads * headDim * 2 + s.hidden * s.kvHeads * headDim * 2;
  const mlp = 3 * s.hidden * s.intermediate;
  const norms = 2 * s.hidden + (layout.qkNorm ? 2 * headDim : 0);
  return s.vocab * s.hidden * (layout.tiedEmbeddings ? 1 : 2) + s.layers * (attention + mlp + norms) + s.hidden;
}

/** Bytes of fp32 weights one decoding step reads: everything except the embedding table (one row is read). */
export function weightBytesPerToken(s: LlamaShape): number {
  return (parameterCount(s) - s.vocab * s.hidden + s.hidden) * 4;
}

/** Refuses to write inside the repository, except under its git-ignored bench/out. */
export function checkOutDir(outDir: string): string {
  const resolved = path.resolve(outDir);
  const relative = path.relative(repoRoot, resolved);
  const insideRepo = !relative.startsWith("..") && !path.isAbsolute(relative);
  if (insideRepo && !(relative === "bench/out" || relative.startsWith(`bench${path.sep}out${path.sep}`))) {
    throw new Error(`--out ${outDir}: models must not be written into the repository (use /tmp/... or bench/out/...)`);
  }
  return resolved;
}

export function checkShape(shape: LlamaShape, layout: ExportLayout = {}): void {
  const s: LlamaShape = {
    hidden: shape.hidden,
    layers: shape.layers,
    heads: shape.heads,
    kvHeads: shape.kvHeads,
    intermediate: shape.intermediate,
    vocab: shape.vocab,
    context: shape.context,
  };
  for (const [key, value] of Object.entries(s)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${key}: must be a positive integer, got ${value}`);
  }
  if (layout.headDim === undefined && s.hidden % s.heads !== 0)
    throw new Error(`--hidden (${s.hidden}) must be a multiple of --heads (${s.heads})`);
  const headDim = layout.headDim ?? s.hidden / s.heads;
  if (headDim % 2 !== 0) throw new Error(`head_dim (${headDim}) must be even for RoPE`);
  if (s.heads % s.kvHeads !== 0) throw new Error(`--heads (${s.heads}) must be a multiple of --kv-heads (${s.kvHeads})`);
  if (!layout.tokenizerDir && !layout.tokenizerFiles && s.vocab < BASE_VOCAB)
    throw new Error(`--vocab must be >= ${BASE_VOCAB} (the stories260K tokenizer's size)`);
}

/** Writes the model; returns its directory. */
export async function makeRandomLlama(options: MakeOptions): Promise<string> {
  const layout = options.layout ?? {};
  checkShape(options, layout);
  const modelDir = path.join(checkOutDir(options.outDir), options.name);
  await mkdir(path.join(modelDir, "onnx"), { recursive: true });
  const onnxFile = layout.onnxFile ?? "model.onnx";
  const weights = new WeightFile(path.join(modelDir, "onnx", `${onnxFile}_data`), `${onnxFile}_data`, options.seed);
  await weights.open();
  try {
    const graph = await buildGraph(options, layout, weights);
    await writeFile(path.join(modelDir, "onnx", onnxFile), encodeModel(graph));
  } finally {
    await weights.close();
  }
  await writeConfigs(modelDir, options, layout);
  if (layout.tokenizerFiles) {
    for (const [file, json] of Object.entries(layout.tokenizerFiles))
      await writeFile(path.join(modelDir, file), JSON.stringify(json, null, 2));
  } else if (layout.tokenizerDir) {
    for (const file of ["tokenizer.json", "tokenizer_config.json"])
      await copyFile(path.join(layout.tokenizerDir, file), path.join(modelDir, file));
  } else {
    await writeTokenizer(modelDir, options.vocab);
  }
  return modelDir;
}

/** Weight tensors streamed to the external-data file as they are generated (xorshift32 uniform, std INIT_STD). */
class WeightFile {
  private handle?: Awaited<ReturnType<typeof open>>;
  private offset = 0;
  private state: number;

  constructor(
    private readonly filePath: string,
    private readonly location: string,
    seed: number,
  ) {
    this.state = (seed * 2654435761) >>> 0 || 1;
  }

  async open(): Promise<void> {
    this.handle = await open(this.filePath, "w");
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }

  async random(name: string, dims: number[]): Promise<TensorSpec> {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    const scale = INIT_STD * Math.sqrt(3) * 2 ** -31; // uniform in [-std*sqrt(3), std*sqrt(3)): variance std^2
    let x = this.state;
    for (let i = 0; i < data.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      data[i] = (x | 0) * scale;
    }
    this.state = x >>> 0 || 1;
    return this.write(name, dims, data);
  }

  async ones(name: string, length: number): Promise<TensorSpec> {
    // RMSNorm weights of 1 keep random-weight activations in range.
    return this.write(name, [length], new Float32Array(length).fill(1));
  }

  private async write(name: string, dims: number[], data: Float32Array): Promise<TensorSpec> {
    const padding = (ALIGN - (this.offset % ALIGN)) % ALIGN;
    if (padding) await this.handle!.write(new Uint8Array(padding), 0, padding, this.offset);
    this.offset += padding;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    await this.handle!.write(bytes, 0, bytes.length, this.offset);
    const tensor: TensorSpec = {
      name,
      type: DataType.FLOAT,
      dims,
      external: { location: this.location, offset: this.offset, length: bytes.length },
    };
    this.offset += bytes.length;
    return tensor;
  }
}

/** Accumulates nodes and small constants with unique names. */
class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private counter = 0;

  op(op: string, inputs: string[], attributes?: Record<string, AttributeValue>, outputName?: string): string {
    const output = outputName ?? `t${this.counter++}_${op}`;
    this.nodes.push({ op, inputs, outputs: [output], name: `n${this.nodes.length}_${op}`, attributes });
    return output;
  }

  split2(input: string, half: number): [string, string] {
    const outputs = [`t${this.counter++}_a`, `t${this.counter++}_b`];
    this.nodes.push({
      op: "Split",
      inputs: [input, this.int64([half, half])],
      outputs,
      name: `n${this.nodes.length}_Split`,
      attributes: { axis: { int: -1 } },
    });
    return outputs as [string, string];
  }

  int64(values: number[], scalar = false): string {
    const name = `c${this.counter++}_i64`;
    const raw = new Uint8Array(BigInt64Array.from(values, BigInt).buffer);
    this.initializers.push({ name, type: DataType.INT64, dims: scalar ? [] : [values.length], raw });
    return name;
  }

  float(values: number[], scalar = false): string {
    const name = `c${this.counter++}_f32`;
    this.initializers.push({
      name,
      type: DataType.FLOAT,
      dims: scalar ? [] : [values.length],
      raw: new Uint8Array(Float32Array.from(values).buffer),
    });
    return name;
  }
}

async function buildGraph(s: MakeOptions, layout: ExportLayout, weights: WeightFile) {
  const g = new GraphBuilder();
  const headDim = layout.headDim ?? s.hidden / s.heads;
  const groups = s.heads / s.kvHeads;
  const kvType = layout.kvDtype === "float16" ? DataType.FLOAT16 : DataType.FLOAT;
  const inputs: ValueInfo[] = [
    { name: "input_ids", type: DataType.INT64, shape: ["batch_size", "sequence_length"] },
    { name: "attention_mask", type: DataType.INT64, shape: ["batch_size", "total_sequence_length"] },
  ];
  if (layout.positionIds !== false) inputs.push({ name: "position_ids", type: DataType.INT64, shape: ["batch_size", "sequence_length"] });
  const outputs: ValueInfo[] = [{ name: "logits", type: kvType, shape: ["batch_size", "sequence_length", s.vocab] }];
  const weightTensors: TensorSpec[] = [];
  const weight = async (name: string, dims: number[]) => {
    weightTensors.push(await weights.random(name, dims));
    return name;
  };
  const normWeight = async (name: string, length = s.hidden) => {
    weightTensors.push(await weights.ones(name, length));
    return name;
  };
  const rmsNorm = (x: string, w: string) => {
    const meanSquare = g.op("ReduceMean", [g.op("Mul", [x, x])], { axes: [-1], keepdims: { int: 1 } });
    const rms = g.op("Sqrt", [g.op("Add", [meanSquare, g.float([RMS_EPS], true)])]);
    return g.op("Mul", [g.op("Div", [x, rms]), w]);
  };

  // Positions [B or 1, S]: the position_ids input, else past_length + 0..S-1 (past_length = T - S).
  let positionIds = "position_ids";
  if (layout.positionIds === false) {
    const total = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.int64([1], true)], { axis: { int: 0 } });
    const steps = g.op("Gather", [g.op("Shape", ["input_ids"]), g.int64([1], true)], { axis: { int: 0 } });
    const range = g.op("Range", [g.op("Sub", [total, steps]), total, g.int64([1], true)]);
    positionIds = g.op("Unsqueeze", [range, g.int64([0])]);
  }

  // Rotary angles [B, 1, S, head_dim] from the positions (HF rotate_half layout).
  const invFreq = Array.from({ length: headDim / 2 }, (_, i) => 1 / ROPE_THETA ** ((2 * i) / headDim));
  const positions = g.op("Unsqueeze", [g.op("Cast", [positionIds], { to: { int: DataType.FLOAT } }), g.int64([2])]);
  const freqs = g.op("Mul", [positions, g.float(invFreq)]);
  const angles = g.op("Unsqueeze", [g.op("Concat", [freqs, freqs], { axis: { int: -1 } }), g.int64([1])]);
  const cos = g.op("Cos", [angles]);
  const sin = g.op("Sin", [angles]);
  const rope = (x: string) => {
    const [first, second] = g.split2(x, headDim / 2);
    const rotated = g.op("Concat", [g.op("Neg", [second]), first], { axis: { int: -1 } });
    return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rotated, sin])]);
  };

  // Additive mask [B, 1, S, T]: key j is visible to the query at absolute position p when j <= p and unmasked.
  const total = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.int64([1], true)], { axis: { int: 0 } });
  const keyPositions = g.op("Range", [g.int64([0], true), total, g.int64([1], true)]);
  const causal = g.op("LessOrEqual", [keyPositions, g.op("Unsqueeze", [positionIds, g.int64([2])])]);
  const unpadded = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.int64([1])])], { to: { int: DataType.BOOL } });
  const visible = g.op("Unsqueeze", [g.op("And", [causal, unpadded]), g.int64([1])]);
  const maskBias = g.op("Where", [visible, g.float([0], true), g.float([-3.4028234663852886e38], true)]);

  const toHeads = (x: string, heads: number) =>
    g.op("Transpose", [g.op("Reshape", [x, g.int64([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
  const repeatKv = (x: string) =>
    groups === 1
      ? x
      : g.op("Reshape", [
          g.op("Expand", [g.op("Unsqueeze", [x, g.int64([2])]), g.int64([1, 1, groups, 1, 1])]),
          g.int64([0, s.heads, -1, headDim]),
        ]);
  const toFloat = (x: string) => (kvType === DataType.FLOAT ? x : g.op("Cast", [x], { to: { int: DataType.FLOAT } }));
  const cacheOut = (x: string, name: string) =>
    kvType === DataType.FLOAT ? g.op("Identity", [x], undefined, name) : g.op("Cast", [x], { to: { int: kvType } }, name);

  const embedding = await weight("model.embed_tokens.weight", [s.vocab, s.hidden]);
  let hidden = g.op("Gather", [embedding, "input_ids"], { axis: { int: 0 } });
  for (let layer = 0; layer < s.layers; layer++) {
    const p = `model.layers.${layer}`;
    for (const kind of ["key", "value"]) {
      inputs.push({
        name: `past_key_values.${layer}.${kind}`,
        type: kvType,
        shape: ["batch_size", s.kvHeads, "past_sequence_length", headDim],
      });
      outputs.push({ name: `present.${layer}.${kind}`, type: kvType, shape: ["batch_size", s.kvHeads, "total_sequence_length", headDim] });
    }
    const x = rmsNorm(hidden, await normWeight(`${p}.input_layernorm.weight`));
    let q = toHeads(g.op("MatMul", [x, await weight(`${p}.self_attn.q_proj.weight_t`, [s.hidden, s.heads * headDim])]), s.heads);
    let k = toHeads(g.op("MatMul", [x, await weight(`${p}.self_attn.k_proj.weight_t`, [s.hidden, s.kvHeads * headDim])]), s.kvHeads);
    if (layout.qkNorm) {
      q = rmsNorm(q, await normWeight(`${p}.self_attn.q_norm.weight`, headDim));
      k = rmsNorm(k, await normWeight(`${p}.self_attn.k_norm.weight`, headDim));
    }
    q = rope(q);
    k = rope(k);
    const v = toHeads(g.op("MatMul", [x, await weight(`${p}.self_attn.v_proj.weight_t`, [s.hidden, s.kvHeads * headDim])]), s.kvHeads);
    const keys = g.op("Concat", [toFloat(`past_key_values.${layer}.key`), k], { axis: { int: 2 } });
    const values = g.op("Concat", [toFloat(`past_key_values.${layer}.value`), v], { axis: { int: 2 } });
    cacheOut(keys, `present.${layer}.key`);
    cacheOut(values, `present.${layer}.value`);
    const scores = g.op("Mul", [
      g.op("MatMul", [q, g.op("Transpose", [repeatKv(keys)], { perm: [0, 1, 3, 2] })]),
      g.float([1 / Math.sqrt(headDim)], true),
    ]);
    const probs = g.op("Softmax", [g.op("Add", [scores, maskBias])], { axis: { int: -1 } });
    const context = g.op("Reshape", [
      g.op("Transpose", [g.op("MatMul", [probs, repeatKv(values)])], { perm: [0, 2, 1, 3] }),
      g.int64([0, 0, s.heads * headDim]),
    ]);
    hidden = g.op("Add", [
      hidden,
      g.op("MatMul", [context, await weight(`${p}.self_attn.o_proj.weight_t`, [s.heads * headDim, s.hidden])]),
    ]);

    const y = rmsNorm(hidden, await normWeight(`${p}.post_attention_layernorm.weight`));
    const gate = g.op("MatMul", [y, await weight(`${p}.mlp.gate_proj.weight_t`, [s.hidden, s.intermediate])]);
    const up = g.op("MatMul", [y, await weight(`${p}.mlp.up_proj.weight_t`, [s.hidden, s.intermediate])]);
    const activated = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up]);
    hidden = g.op("Add", [hidden, g.op("MatMul", [activated, await weight(`${p}.mlp.down_proj.weight_t`, [s.intermediate, s.hidden])])]);
  }
  let final = rmsNorm(hidden, await normWeight("model.norm.weight"));
  if (layout.numLogitsToKeep) {
    inputs.push({ name: "num_logits_to_keep", type: DataType.INT64, shape: [] });
    const start = g.op("Unsqueeze", [g.op("Neg", ["num_logits_to_keep"]), g.int64([0])]);
    final = g.op("Slice", [final, start, g.int64([2 ** 62]), g.int64([1])]);
  }
  const lmHead = layout.tiedEmbeddings
    ? g.op("Transpose", [embedding], { perm: [1, 0] })
    : await weight("lm_head.weight_t", [s.hidden, s.vocab]);
  const logits = g.op("MatMul", [final, lmHead]);
  cacheOut(logits, "logits");
  return { name: "random_llama", nodes: g.nodes, inputs, outputs, initializers: [...weightTensors, ...g.initializers] };
}

async function writeConfigs(modelDir: string, s: MakeOptions, layout: ExportLayout): Promise<void> {
  const config = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: s.vocab,
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: layout.headDim ?? s.hidden / s.heads,
    hidden_act: "silu",
    max_position_embeddings: s.context,
    rms_norm_eps: RMS_EPS,
    rope_theta: ROPE_THETA,
    tie_word_embeddings: layout.tiedEmbeddings ?? false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: "float32",
    "transformers.js_config": { dtype: "fp32", use_external_data_format: true },
    triad_random_weights: { seed: s.seed, parameters: parameterCount(s, layout) },
    ...layout.config,
  };
  await writeFile(path.join(modelDir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  const generation = layout.generationConfig ?? { bos_token_id: 1, eos_token_id: [1, 2], max_length: s.context, do_sample: false };
  await writeFile(path.join(modelDir, "generation_config.json"), `${JSON.stringify(generation, null, 2)}\n`);
}

async function writeTokenizer(modelDir: string, vocab: number): Promise<void> {
  for (const file of ["tokenizer_config.json", "special_tokens_map.json"]) {
    await copyFile(path.join(TOKENIZER_SOURCE, file), path.join(modelDir, file));
  }
  const tokenizer = JSON.parse(await readFile(path.join(TOKENIZER_SOURCE, "tokenizer.json"), "utf8"));
  for (let id = BASE_VOCAB; id < vocab; id++) tokenizer.model.vocab[`<extra_${id}>`] = id;
  await writeFile(path.join(modelDir, "tokenizer.json"), JSON.stringify(tokenizer));
}

export function defaultName(s: LlamaShape): string {
  return `random-llama-${Math.round(parameterCount(s) / 1e6)}M`;
}

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
