import type { ForwardPass } from "./forward.js";
import { applyProcessors, logSoftmax, type LogitsProcessor } from "./logits-processors.js";
import type { GeneratedSequence, ResolvedGenerationConfig } from "./types.js";

/** HF's "very large negative" score for beams that must not be picked. */
const EXCLUDED = -1e9;
const f32 = Math.fround;

interface Beam {
  tokens: number[]; // generated tokens
  score: number; // float32 sum of processed log-probs
}

interface Candidate extends Beam {
  sourceBeam: number;
  hitsStop: boolean;
}

interface FinishedSlot extends Beam {
  finished: boolean;
}

/**
 * Beam search as HF transformers' (vectorised, 4.5x) `_beam_search`: log_softmax, then the processors on
 * log-probs, accumulated float32 scores, top (1 + #eos, at least 2) * num_beams candidates, length penalty
 * score / generated_length ** length_penalty for finished hypotheses, and the `early_stopping` heuristic.
 * Ties go to the lower flat index (beam * vocab + token), as a stable top-k.
 */
export async function beamSearch(
  forward: ForwardPass,
  promptIds: number[],
  config: ResolvedGenerationConfig,
  processors: LogitsProcessor[],
): Promise<GeneratedSequence[]> {
  const numBeams = config.num_beams;
  const vocab = forward.vocabSize;
  const stopIds = new Set(config.eos_token_ids);
  const beamsToKeep = Math.max(2, 1 + config.eos_token_ids.length) * numBeams;
  const promptLength = promptIds.length;
  const maxLength = promptLength + config.max_new_tokens;
  const lengthPenalty = config.length_penalty;
  const earlyStopping = config.early_stopping;

  let running: Beam[] = Array.from({ length: numBeams }, (_, b) => ({ tokens: [], score: b === 0 ? 0 : EXCLUDED }));
  let finished: FinishedSlot[] = Array.from({ length: numBeams }, () => ({ tokens: [], score: EXCLUDED, finished: false }));
  let improvementPossible = true;

  // All beams start from the same prompt: run it once and copy its cache into every beam row.
  const prefill = await forward.run([promptIds], forward.emptyCache(1));
  let cache = forward.selectRows(prefill.cache, new Array(numBeams).fill(0));
  let logits = new Array<Float32Array>(numBeams).fill(prefill.logits[0]);

  for (let curLength = promptLength; ; curLength++) {
    const accumulated = new Float32Array(numBeams * vocab);
    running.forEach((beam, b) => {
      const logProbs = logSoftmax(logits[b]);
      applyProcessors(processors, logProbs, [...promptIds, ...beam.tokens]);
      for (let t = 0; t < vocab; t++) accumulated[b * vocab + t] = logProbs[t] + beam.score;
    });

    const candidates: Candidate[] = topIndices(accumulated, beamsToKeep).map((flat) => {
      const sourceBeam = Math.floor(flat / vocab);
      const token = flat % vocab;
      return {
        sourceBeam,
        tokens: [...running[sourceBeam].tokens, token],
        score: accumulated[flat],
        hitsStop: stopIds.has(token) || curLength + 1 >= maxLength,
      };
    });

    // Next running beams: the best candidates that did not stop.
    const runningScores = Float32Array.from(candidates, (c) => (c.hitsStop ? f32(c.score + EXCLUDED) : c.score));
    const nextRunning = topIndices(runningScores, numBeams).map((k) => ({ ...candidates[k], score: runningScores[k] }));

    // Finished hypotheses: only the top num_beams candidates may enter, scored with the length penalty.
    const allSlotsFinished = finished.every((slot) => slot.finished);
    const penaltyDivisor = f32((curLength + 1 - promptLength) ** lengthPenalty);
    const offered = candidates.map((c, k) => {
      const justFinished = c.hitsStop && k < numBeams;
      let score = f32(c.score / penaltyDivisor);
      if (allSlotsFinished && earlyStopping === true) score = f32(score + EXCLUDED);
      if (!improvementPossible) score = f32(score + EXCLUDED);
      if (!justFinished) score = f32(score + EXCLUDED);
      return { tokens: c.tokens, score, finished: justFinished };
    });
    const merged = [...finished, ...offered];
    finished = topIndices(
      Float32Array.from(merged, (m) => m.score),
      numBeams,
    ).map((i) => merged[i]);

    running = nextRunning;
    const nextLength = curLength + 1;
    improvementPossible &&= canImprove(running[0].score, finished, nextLength - promptLength, maxLength - promptLength, config);
    const everySlotDone = finished.every((slot) => slot.finished) && earlyStopping === true;
    const noValidContinuation = candidates.every((c) => c.hitsStop);
    if (!improvementPossible || everySlotDone || noValidContinuation) break;

    cache = forward.selectRows(
      cache,
      nextRunning.map((beam) => (beam as Candidate).sourceBeam),
    );
    ({ logits, cache } = await forward.run(
      running.map((beam) => [beam.tokens[beam.tokens.length - 1]]),
      cache,
    ));
  }

  return finished.slice(0, config.num_return_sequences).map((slot) => ({
    tokenIds: slot.tokens,
    finishReason: stopIds.has(slot.tokens[slot.tokens.length - 1]) ? "stop" : "length",
  }));
}

/** HF's `_check_early_stop_heuristic` for one batch item. */
function canImprove(
  bestRunningScore: number,
  finished: FinishedSlot[],
  generatedLength: number,
  maxGeneratedLength: number,
  config: ResolvedGenerationConfig,
): boolean {
  const hypotheticalLength = config.early_stopping === "never" && config.length_penalty > 0 ? maxGeneratedLength : generatedLength;
  const bestPossible = f32(bestRunningScore / f32(hypotheticalLength ** config.length_penalty));
  const worstFinished = Math.min(...finished.map((slot) => slot.score));
  return finished.some((slot) => bestPossible > (slot.finished ? worstFinished : EXCLUDED));
}

/** Indices of the `k` largest values, best first; equal values in index order (a stable top-k). */
export function topIndices(values: Float32Array, k: number): number[] {
  const chosen: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (chosen.length === k && !(v > values[chosen[k - 1]])) continue;
    let position = chosen.length;
    while (position > 0 && v > values[chosen[position - 1]]) position--;
    chosen.splice(position, 0, i);
    if (chosen.length > k) chosen.pop();
  }
  return chosen;
}
