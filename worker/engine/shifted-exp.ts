/**
 * The one exponentiation the sampler and the logits processors share: m = max_i s_i, w_i = exp(s_i - m) in
 * float64 (V8's Math.exp, see docs/sampling.md) and W = their sum in token-id order. -Infinity scores give 0.
 */
export function shiftedExp(scores: Float32Array): { max: number; weights: Float64Array; total: number } {
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  const weights = Float64Array.from(scores, (s) => Math.exp(s - max));
  let total = 0;
  for (const w of weights) total += w;
  return { max, weights, total };
}
