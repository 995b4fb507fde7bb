import * as ort from "onnxruntime-node";
import { EngineFault } from "./errors.js";
import type { LoadedModel } from "./model-loader.js";

/**
 * Per-layer key/value tensors for a batch of sequences that all have `length` cached positions. On WebGPU
 * they are device buffers ("gpu-buffer") that never reach host memory; release them with ForwardPass.release.
 */
export interface KvCache {
  tensors: Record<string, ort.Tensor>;
  length: number;
  batch: number;
}

/**
 * One forward pass of a decoder-only ONNX model with a KV cache (transformers.js export layout:
 * input_ids, attention_mask, position_ids, past_key_values.N.key|value -> logits, present.N.key|value; position_ids
 * only where the graph takes it, num_logits_to_keep = 1 where it takes that).
 * Returns the float32 logits of the last position of every batch row.
 * `session` defaults to the model's own; beam search passes one whose cache comes back to host memory.
 */
export class ForwardPass {
  readonly vocabSize: number;

  constructor(
    private readonly model: LoadedModel,
    private readonly session: ort.InferenceSession = model.session,
  ) {
    this.vocabSize = Number(model.config.vocab_size);
  }

  emptyCache(batch: number): KvCache {
    const { heads, headDim } = this.model.kvShape;
    const tensors: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < this.model.numLayers; layer++) {
      for (const kind of ["key", "value"]) {
        const data = this.model.kvType === "float16" ? new Uint16Array(0) : new Float32Array(0);
        tensors[`past_key_values.${layer}.${kind}`] = new ort.Tensor(this.model.kvType, data, [batch, heads, 0, headDim]);
      }
    }
    return { tensors, length: 0, batch };
  }

  /** Feeds `tokens[b]` (same count for every row) after `cache`; returns last-position logits and the new cache. */
  async run(tokens: number[][], cache: KvCache): Promise<{ logits: Float32Array[]; cache: KvCache }> {
    const batch = tokens.length;
    const steps = tokens[0].length;
    const total = cache.length + steps;
    const feeds: Record<string, ort.Tensor> = { ...cache.tensors };
    feeds.input_ids = new ort.Tensor("int64", BigInt64Array.from(tokens.flat(), BigInt), [batch, steps]);
    feeds.attention_mask = new ort.Tensor("int64", new BigInt64Array(batch * total).fill(1n), [batch, total]);
    if (this.model.hasPositionIds) {
      const positions = new BigInt64Array(batch * steps);
      for (let b = 0; b < batch; b++) for (let s = 0; s < steps; s++) positions[b * steps + s] = BigInt(cache.length + s);
      feeds.position_ids = new ort.Tensor("int64", positions, [batch, steps]);
    }
    // Exports with this input compute logits only for the last N positions; we only read the last one.
    if (this.model.hasNumLogitsToKeep) feeds.num_logits_to_keep = new ort.Tensor("int64", BigInt64Array.of(1n), []);
    let outputs: ort.InferenceSession.ReturnType;
    try {
      outputs = await this.session.run(feeds);
    } catch (error) {
      throw new EngineFault(`ONNX Runtime failed: ${(error as Error).message}`, { cause: error });
    }
    const present: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < this.model.numLayers; layer++) {
      for (const kind of ["key", "value"]) {
        present[`past_key_values.${layer}.${kind}`] = outputs[`present.${layer}.${kind}`];
      }
    }
    const positions = Number(outputs.logits.dims[1]);
    return {
      logits: lastPositionLogits(outputs.logits, batch, positions, this.vocabSize),
      cache: { tensors: present, length: total, batch },
    };
  }

  /**
   * Frees a cache's device buffers now instead of when the garbage collector gets to them (GPU memory is
   * not seen by V8's heap accounting). Host-memory caches need nothing. The cache must not be used again.
   */
  release(cache: KvCache): void {
    for (const tensor of Object.values(cache.tensors)) {
      if (tensor.location === "gpu-buffer") tensor.dispose();
    }
  }

  /** A cache whose row i is row `rows[i]` of `cache` (beam reordering / expansion); host-memory caches only. */
  selectRows(cache: KvCache, rows: number[]): KvCache {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(cache.tensors)) {
      if (tensor.location !== "cpu")
        throw new EngineFault(`cache rows can only be reordered in host memory, ${name} is in ${tensor.location}`);
      const source = tensor.data as Float32Array | Uint16Array;
      const rowSize = source.length / cache.batch;
      const target = new (source.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(rowSize * rows.length);
      for (const [i, row] of rows.entries()) target.set(source.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize);
      tensors[name] = new ort.Tensor(tensor.type as "float32", target as Float32Array, [rows.length, ...tensor.dims.slice(1)]);
    }
    return { tensors, length: cache.length, batch: rows.length };
  }
}

function lastPositionLogits(logits: ort.Tensor, batch: number, steps: number, vocab: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const start = (b * steps + steps - 1) * vocab;
    if (logits.type === "float16") {
      rows.push(halfRowToFloat((logits.data as Uint16Array).subarray(start, start + vocab)));
    } else {
      rows.push((logits.data as Float32Array).slice(start, start + vocab));
    }
  }
  return rows;
}

/** IEEE 754 binary16 bits -> number (exact). */
export function halfToFloat(bits: number): number {
  return HALF_TO_FLOAT[bits & 0xffff]!;
}

/** binary16 values -> float32 (exact), with a plain loop over the table (a mapping callback is 50x slower). */
export function halfRowToFloat(bits: Uint16Array): Float32Array {
  const row = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) row[i] = HALF_TO_FLOAT[bits[i]!]!;
  return row;
}

/** Every binary16 value as float32 (exact: binary16 is a subset), so a logits row converts with lookups. */
const HALF_TO_FLOAT = Float32Array.from({ length: 0x10000 }, (_, bits) => {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
});
