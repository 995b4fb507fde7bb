import type { ForwardPass } from "./forward.js";
import { applyProcessors, argmax, type LogitsProcessor } from "./logits-processors.js";
import { Xoshiro256StarStar } from "./prng.js";
import { pickToken } from "./sampler.js";
import type { GeneratedSequence, ResolvedGenerationConfig } from "./types.js";

/**
 * Greedy decoding or multinomial sampling, one sequence at a time (batch 1, so every returned sequence
 * sees the same numerics). The prompt is run once and its cache shared by all returned sequences;
 * sequence i draws from PRNG stream i.
 */
export async function greedyOrSample(
  forward: ForwardPass,
  promptIds: number[],
  config: ResolvedGenerationConfig,
  processors: LogitsProcessor[],
  seed: number,
): Promise<GeneratedSequence[]> {
  const prefill = await forward.run([promptIds], forward.emptyCache(1));
  const stopIds = new Set(config.eos_token_ids);
  const sequences: GeneratedSequence[] = [];
  try {
    for (let index = 0; index < config.num_return_sequences; index++) {
      const rng = config.do_sample ? Xoshiro256StarStar.forStream(seed, index) : undefined;
      const sequence = [...promptIds];
      const generated: number[] = [];
      let logits = prefill.logits[0];
      let cache = prefill.cache;
      try {
        for (;;) {
          const scores = processors.length > 0 ? Float32Array.from(logits) : logits;
          applyProcessors(processors, scores, sequence);
          const token = rng ? pickToken(scores, rng.nextUniform()) : argmax(scores);
          generated.push(token);
          sequence.push(token);
          if (stopIds.has(token)) {
            sequences.push({ tokenIds: generated, finishReason: "stop" });
            break;
          }
          if (generated.length >= config.max_new_tokens) {
            sequences.push({ tokenIds: generated, finishReason: "length" });
            break;
          }
          const step = await forward.run([[token]], cache);
          // The prompt's cache is shared by every returned sequence; a step's own cache is dropped at once.
          if (cache !== prefill.cache) forward.release(cache);
          ({
            logits: [logits],
            cache,
          } = step);
        }
      } finally {
        if (cache !== prefill.cache) forward.release(cache);
      }
    }
  } finally {
    forward.release(prefill.cache);
  }
  return sequences;
}
