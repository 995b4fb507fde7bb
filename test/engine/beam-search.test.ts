import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { beamSearch, topIndices } from "../../worker/engine/beam-search.js";
import { ForwardPass } from "../../worker/engine/forward.js";
import { resolveGenerationConfig } from "../../worker/engine/generation-config.js";
import { GptEngine } from "../../worker/engine/index.js";
import type { LoadedModel } from "../../worker/engine/model-loader.js";
import { logProbsFromScratch, loadStories, modelsDir, readModelJson, responseOf, run, task } from "./helpers.js";

const STOP_IDS = [1, 2];

interface Hypothesis {
  tokens: number[];
  score: number; // sum of log-probs / generated length (length_penalty 1.0)
}

describe("engine: beam search", function () {
  let model: LoadedModel;
  let engine: GptEngine;
  before(async () => {
    model = await loadStories();
    engine = new GptEngine({ modelsDir });
  });
  after(async () => {
    await model.session.release();
    await engine.close();
  });

  async function beams(promptIds: number[], numBeams: number, returned: number, maxNewTokens: number) {
    const config = resolveGenerationConfig(
      { num_beams: numBeams, num_return_sequences: returned, max_new_tokens: maxNewTokens },
      model.generationConfig,
      model.config,
    );
    return beamSearch(new ForwardPass(model), promptIds, config, []);
  }

  /** Scores a hypothesis from scratch: the sum of its tokens' log-probs divided by its length. */
  async function score(promptIds: number[], tokens: number[]): Promise<number> {
    const rows = tokens.map((_, i) => [...promptIds, ...tokens.slice(0, i)]);
    let sum = 0;
    for (const [i, row] of rows.entries()) sum += (await logProbsFromScratch(model, [row]))[0][tokens[i]];
    return sum / tokens.length;
  }

  it("with 2 new tokens, returns the best hypotheses of an exhaustive search over all 512 + 512^2 continuations", async function () {
    this.timeout(120_000);
    const promptIds = model.tokenizer.encode("Once upon a time");
    const [first] = await logProbsFromScratch(model, [promptIds]);
    const all: Hypothesis[] = STOP_IDS.map((stop) => ({ tokens: [stop], score: first[stop] }));
    const firstTokens = [...first.keys()].filter((t) => !STOP_IDS.includes(t));
    const second = await logProbsFromScratch(
      model,
      firstTokens.map((t) => [...promptIds, t]),
    );
    firstTokens.forEach((t, row) => {
      for (let u = 0; u < second[row].length; u++) all.push({ tokens: [t, u], score: (first[t] + second[row][u]) / 2 });
    });
    all.sort((a, b) => b.score - a.score);

    const found = await beams(promptIds, 8, 4, 2);
    expect(found.map((h) => h.tokenIds)).to.deep.equal(all.slice(0, 4).map((h) => h.tokens));
    for (const h of found) expect(h.finishReason).to.equal(STOP_IDS.includes(h.tokenIds.at(-1)!) ? "stop" : "length");
  });

  it("with 3 new tokens, returns hypotheses in descending score, the best at least as good as greedy", async function () {
    this.timeout(120_000);
    const promptIds = model.tokenizer.encode("Tom had a big red ball. He");
    const found = await beams(promptIds, 3, 3, 3);
    const scores = await Promise.all(found.map((h) => score(promptIds, h.tokenIds)));
    for (let i = 1; i < scores.length; i++) expect(scores[i - 1]).to.be.at.least(scores[i] - 1e-6);

    const greedy: number[] = [];
    while (greedy.length < 3 && !STOP_IDS.includes(greedy.at(-1) ?? -1)) {
      const [lp] = await logProbsFromScratch(model, [[...promptIds, ...greedy]]);
      greedy.push(topIndices(lp, 1)[0]);
    }
    expect(scores[0]).to.be.at.least((await score(promptIds, greedy)) - 1e-6);
  });

  it("a story that ends stops with the stop token and finish_reason stop", async function () {
    const golden = readModelJson("golden.json").cases.find((c: { name: string }) => c.name === "long_story_ends_with_bos");
    const response = responseOf(
      await run(
        engine,
        task({ messages: [{ role: "user", content: golden.prompt }], generation_config: { num_beams: 2, max_new_tokens: 40 } }),
      ),
    );
    expect(response.choices[0].finish_reason).to.equal("stop");
    expect(response.usage.completion_tokens).to.be.below(40);
  });

  it("the engine returns num_return_sequences choices, counting every hypothesis' tokens", async function () {
    const response = responseOf(
      await run(engine, task({ generation_config: { num_beams: 4, num_return_sequences: 3, max_new_tokens: 10 } })),
    );
    expect(response.choices.map((c) => c.index)).to.deep.equal([0, 1, 2]);
    expect(new Set(response.choices.map((c) => c.message.content)).size).to.equal(3);
    expect(response.usage.completion_tokens).to.equal(30);
  });

  it("topIndices is a stable top-k (ties in index order)", function () {
    expect(topIndices(Float32Array.from([1, 3, 2, 3, 0]), 3)).to.deep.equal([1, 3, 2]);
    expect(topIndices(Float32Array.from([5, 5, 5]), 2)).to.deep.equal([0, 1]);
  });
});
