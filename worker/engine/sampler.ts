import { shiftedExp } from "./shifted-exp.js";

/**
 * Picks a token from processed scores with one uniform number u in [0, 1), bit-reproducibly:
 * weights w_i = exp(s_i - max_j s_j) in float64 (V8's Math.exp), total W = sum of w_i in id order,
 * target = u * W; the token is the first id (in id order) with w_i > 0 whose running sum exceeds target,
 * or the last id with w_i > 0 if rounding leaves none.
 */
export function pickToken(scores: Float32Array, uniform: number): number {
  const { weights, total } = shiftedExp(scores);
  const target = uniform * total;
  let cumulative = 0;
  let lastPositive = -1;
  for (let id = 0; id < weights.length; id++) {
    if (weights[id] <= 0) continue;
    cumulative += weights[id];
    lastPositive = id;
    if (cumulative > target) return id;
  }
  return lastPositive;
}
