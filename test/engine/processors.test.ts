import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { ForwardPass } from "../../worker/engine/forward.js";
import { HF_GENERATION_DEFAULTS } from "../../worker/engine/generation-config.js";
import { GptEngine } from "../../worker/engine/index.js";
import {
  applyProcessors,
  argmax,
  buildProcessors,
  repetitionPenalty,
  temperature,
  topK,
  topP,
  typicalP,
} from "../../worker/engine/logits-processors.js";
import type { LoadedModel } from "../../worker/engine/model-loader.js";
import { completionText } from "../../worker/engine/prompt.js";
import type { ResolvedGenerationConfig } from "../../worker/engine/types.js";
import { loadStories, modelsDir, responseOf, run, task } from "./helpers.js";

const logOf = (probs: number[]) => Float32Array.from(probs.map(Math.log));
const kept = (scores: Float32Array) => [...scores.keys()].filter((i) => scores[i] !== -Infinity);
const config = (settings: Partial<ResolvedGenerationConfig>): ResolvedGenerationConfig => ({
  ...HF_GENERATION_DEFAULTS,
  eos_token_ids: [1, 2],
  ...settings,
});

describe("engine: logits processors (hand-computed)", function () {
  it("repetition penalty divides positive and multiplies negative scores of seen tokens, once each", function () {
    const scores = Float32Array.from([1, -1, 3, 0.5]);
    repetitionPenalty(2)(scores, [0, 1, 1]);
    expect([...scores]).to.deep.equal([0.5, -2, 3, 0.5]);
  });

  it("temperature divides every score", function () {
    const scores = Float32Array.from([1, -2, 3]);
    temperature(0.5)(scores, []);
    expect([...scores]).to.deep.equal([2, -4, 6]);
  });

  it("top-k keeps the k best and every token tied with the k-th", function () {
    const scores = Float32Array.from([1, 3, 3, 2]);
    topK(2)(scores, []);
    expect(kept(scores)).to.deep.equal([1, 2]);
    const all = Float32Array.from([1, 2]);
    topK(10)(all, []);
    expect(kept(all)).to.deep.equal([0, 1]);
  });

  it("top-p removes the low tail whose cumulative probability is <= 1 - top_p", function () {
    const scores = logOf([0.1, 0.2, 0.3, 0.4]);
    topP(0.75)(scores, []); // tail 0.25: 0.1 out, 0.1 + 0.2 = 0.3 > 0.25 stays
    expect(kept(scores)).to.deep.equal([1, 2, 3]);
    const narrow = logOf([0.1, 0.2, 0.3, 0.4]);
    topP(0.65)(narrow, []); // tail 0.35: 0.1 and 0.3 out
    expect(kept(narrow)).to.deep.equal([2, 3]);
    const tiny = logOf([0.1, 0.2, 0.3, 0.4]);
    topP(1e-9)(tiny, []); // min_tokens_to_keep = 1
    expect(kept(tiny)).to.deep.equal([3]);
  });

  it("typical-p keeps the tokens closest to the entropy until their mass reaches typical_p", function () {
    // H = 1.2799; |-log p - H| = 1.0227, 0.3295, 0.0759, 0.3636 -> order 2, 1, 3, 0; cumulative 0.3, 0.5, 0.9, 1.0
    const wide = logOf([0.1, 0.2, 0.3, 0.4]);
    typicalP(0.6)(wide, []); // two cumulative sums < 0.6 -> cut after rank 2 (token 3)
    expect(kept(wide)).to.deep.equal([1, 2, 3]);
    const narrow = logOf([0.1, 0.2, 0.3, 0.4]);
    typicalP(0.4)(narrow, []);
    expect(kept(narrow)).to.deep.equal([1, 2]);
  });

  it("runs in HF's order: temperature before top-p", function () {
    // probs^2 / sum = 0.033, 0.133, 0.3, 0.533: with temperature first the tail 0.25 removes tokens 0 and 1
    const scores = logOf([0.1, 0.2, 0.3, 0.4]);
    applyProcessors(buildProcessors(config({ do_sample: true, temperature: 0.5, top_p: 0.75, top_k: 0 })), scores, []);
    expect(kept(scores)).to.deep.equal([2, 3]);
  });

  it("greedy decoding uses only the repetition penalty; sampling adds the warpers", function () {
    expect(buildProcessors(config({ top_k: 5, top_p: 0.5, temperature: 0.3 }))).to.have.length(0);
    expect(buildProcessors(config({ repetition_penalty: 1.2 }))).to.have.length(1);
    expect(buildProcessors(config({ do_sample: true }))).to.have.length(1); // HF's default top_k = 50
    expect(buildProcessors(config({ do_sample: true, top_k: 0 }))).to.have.length(0);
  });

  it("argmax takes the first maximum", function () {
    expect(argmax(Float32Array.from([1, 5, 5, 2]))).to.equal(1);
  });
});

describe("engine: repetition penalty end to end", function () {
  let engine: GptEngine;
  let model: LoadedModel;
  before(async () => {
    engine = new GptEngine({ modelsDir });
    model = await loadStories();
  });
  after(async () => {
    await engine.close();
    await model.session.release();
  });

  it("equals a from-scratch greedy loop (no KV cache) with the penalty written out by hand", async function () {
    const penalty = 1.3;
    const prompt = "Tom had a big red ball. He";
    const forward = new ForwardPass(model);
    const promptIds = model.tokenizer.encode(prompt);
    const sequence = [...promptIds];
    const generated: number[] = [];
    while (generated.length < 24) {
      const { logits } = await forward.run([sequence], forward.emptyCache(1));
      const scores = logits[0];
      for (const id of new Set(sequence)) scores[id] = scores[id] < 0 ? scores[id] * penalty : scores[id] / penalty;
      let best = 0;
      for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
      generated.push(best);
      sequence.push(best);
      if (best === 1 || best === 2) break;
    }
    const response = responseOf(
      await run(
        engine,
        task({ messages: [{ role: "user", content: prompt }], generation_config: { max_new_tokens: 24, repetition_penalty: penalty } }),
      ),
    );
    expect(response.choices[0].message.content).to.equal(completionText(model.tokenizer, promptIds, generated));
    const unpenalised = responseOf(
      await run(engine, task({ messages: [{ role: "user", content: prompt }], generation_config: { max_new_tokens: 24 } })),
    );
    expect(response.choices[0].message.content).not.to.equal(unpenalised.choices[0].message.content);
  });
});
