import * as ort from "onnxruntime-node";
import { halfRowToFloat } from "../../worker/engine/forward.js";
import type { LoadedModel } from "../../worker/engine/model-loader.js";

/**
 * The benchmarks' floor: session.run with exactly the inputs this graph takes, `pick` over the last position's
 * logits, the present KV tensors fed back as they come; tensors built inline, nothing else. Returns the tokens made.
 */
export async function bareForwardLoop(
  model: LoadedModel,
  promptIds: number[],
  newTokens: number,
  pick: (logits: Float32Array) => number,
): Promise<number> {
  const { heads, headDim } = model.kvShape;
  let feeds: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < model.numLayers; layer++) {
    for (const kind of ["key", "value"]) {
      const empty = model.kvType === "float16" ? new Uint16Array(0) : new Float32Array(0);
      feeds[`past_key_values.${layer}.${kind}`] = new ort.Tensor(model.kvType, empty, [1, heads, 0, headDim]);
    }
  }
  let input = promptIds;
  let past = 0;
  const vocab = Number(model.config.vocab_size);
  for (let generated = 0; generated < newTokens; generated++) {
    const total = past + input.length;
    feeds.input_ids = new ort.Tensor("int64", BigInt64Array.from(input, BigInt), [1, input.length]);
    feeds.attention_mask = new ort.Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]);
    if (model.hasPositionIds) {
      feeds.position_ids = new ort.Tensor(
        "int64",
        BigInt64Array.from(input, (_, i) => BigInt(past + i)),
        [1, input.length],
      );
    }
    if (model.hasNumLogitsToKeep) feeds.num_logits_to_keep = new ort.Tensor("int64", BigInt64Array.of(1n), []);
    const outputs = await model.session.run(feeds);
    const data = outputs.logits!.data as Float32Array | Uint16Array;
    const lastRow = data.subarray(data.length - vocab);
    const next = pick(lastRow instanceof Uint16Array ? halfRowToFloat(lastRow) : lastRow);
    const nextFeeds: Record<string, ort.Tensor> = {};
    for (let layer = 0; layer < model.numLayers; layer++) {
      nextFeeds[`past_key_values.${layer}.key`] = outputs[`present.${layer}.key`]!;
      nextFeeds[`past_key_values.${layer}.value`] = outputs[`present.${layer}.value`]!;
    }
    feeds = nextFeeds;
    past = total;
    input = [next];
  }
  return newTokens;
}
