import { shiftedExp } from "./shifted-exp.js";
import type { ResolvedGenerationConfig } from "./types.js";

/**
 * HF generate's logits processors for the settings a task can carry, with HF's semantics: in-place on a
 * float32 score vector, filtered entries set to -Infinity (HF's filter_value), min_tokens_to_keep 1
 * (we have no beam sampling, where HF would keep more). Sorts break ties by token id, so results do not
 * depend on an unstable sort.
 */
export type LogitsProcessor = (scores: Float32Array, sequence: readonly number[]) => void;

/** HF's order: repetition penalty, then (sampling only) temperature, top-k, top-p, typical-p. */
export function buildProcessors(config: ResolvedGenerationConfig): LogitsProcessor[] {
  const processors: LogitsProcessor[] = [];
  if (config.repetition_penalty !== 1.0) processors.push(repetitionPenalty(config.repetition_penalty));
  if (config.do_sample) {
    if (config.temperature !== 1.0) processors.push(temperature(config.temperature));
    if (config.top_k !== 0) processors.push(topK(config.top_k));
    if (config.top_p < 1.0) processors.push(topP(config.top_p));
    if (config.typical_p < 1.0) processors.push(typicalP(config.typical_p));
  }
  return processors;
}

export function applyProcessors(processors: LogitsProcessor[], scores: Float32Array, sequence: readonly number[]) {
  for (const process of processors) process(scores, sequence);
}

/** CTRL's penalty over every token already in the sequence (prompt included): negative scores * p, others / p. */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  penalty = Math.fround(penalty); // torch applies a Python float to a float32 tensor as float32
  return (scores, sequence) => {
    for (const id of new Set(sequence)) {
      const score = scores[id];
      scores[id] = score < 0 ? score * penalty : score / penalty;
    }
  };
}

export function temperature(value: number): LogitsProcessor {
  value = Math.fround(value);
  return (scores) => {
    for (let i = 0; i < scores.length; i++) scores[i] = scores[i] / value;
  };
}

/** Keeps every token whose score is >= the k-th largest score (ties at the boundary are kept, as in HF). */
export function topK(k: number, minTokensToKeep = 1): LogitsProcessor {
  return (scores) => {
    const keep = Math.min(Math.max(k, minTokensToKeep), scores.length);
    const threshold = Float32Array.from(scores).sort()[scores.length - keep];
    for (let i = 0; i < scores.length; i++) if (scores[i] < threshold) scores[i] = -Infinity;
  };
}

/** Nucleus filtering: removes the low tail whose cumulative probability is <= 1 - top_p. */
export function topP(p: number, minTokensToKeep = 1): LogitsProcessor {
  const tail = Math.fround(1 - p);
  return (scores) => {
    const ascending = sortedIndices(scores, (a, b) => scores[a] - scores[b]);
    const probs = softmax(Float32Array.from(ascending, (i) => scores[i]));
    let cumulative = 0;
    for (let rank = 0; rank < ascending.length - minTokensToKeep; rank++) {
      cumulative = Math.fround(cumulative + probs[rank]);
      if (cumulative <= tail) scores[ascending[rank]] = -Infinity;
    }
  };
}

/** Locally typical sampling (Meister et al.), HF's TypicalLogitsWarper. */
export function typicalP(mass: number, minTokensToKeep = 1): LogitsProcessor {
  mass = Math.fround(mass);
  return (scores) => {
    const logProbs = logSoftmax(scores);
    let entropy = 0;
    for (const lp of logProbs) {
      const term = lp * Math.exp(lp);
      if (!Number.isNaN(term)) entropy -= term; // nansum: -inf * 0 is NaN
    }
    entropy = Math.fround(entropy);
    const shifted = Float32Array.from(logProbs, (lp) => Math.abs(-lp - entropy));
    const order = sortedIndices(shifted, (a, b) => shifted[a] - shifted[b]);
    const probs = softmax(Float32Array.from(order, (i) => scores[i]));
    let cumulative = 0;
    let lastIndex = 0;
    for (const prob of probs) {
      cumulative = Math.fround(cumulative + prob);
      if (cumulative < mass) lastIndex++;
    }
    lastIndex = Math.min(lastIndex, order.length - 1);
    const cutoff = shifted[order[lastIndex]];
    for (let rank = minTokensToKeep; rank < order.length; rank++) {
      if (shifted[order[rank]] > cutoff) scores[order[rank]] = -Infinity;
    }
  };
}

/** Token ids sorted by `compare`, ties broken by id (a stable sort over ids in order). */
function sortedIndices(values: Float32Array, compare: (a: number, b: number) => number): number[] {
  return Array.from(values.keys()).sort((a, b) => {
    const c = compare(a, b);
    return Number.isNaN(c) || c === 0 ? a - b : c;
  });
}

/** float32 softmax (computed in float64, rounded to float32 per element). */
export function softmax(scores: Float32Array): Float32Array {
  const { weights, total } = shiftedExp(scores);
  return Float32Array.from(weights, (w) => w / total);
}

/** float32 log-softmax (computed in float64, rounded to float32 per element). */
export function logSoftmax(scores: Float32Array): Float32Array {
  const { max, total } = shiftedExp(scores);
  const logSum = Math.log(total);
  return Float32Array.from(scores, (s) => s - max - logSum);
}

/** Index of the first maximum (torch.argmax). */
export function argmax(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}
