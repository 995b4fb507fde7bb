import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { greedyOrSample } from "../../worker/engine/decode-loop.js";
import { ForwardPass } from "../../worker/engine/forward.js";
import { resolveGenerationConfig } from "../../worker/engine/generation-config.js";
import { GptEngine } from "../../worker/engine/index.js";
import type { LoadedModel } from "../../worker/engine/model-loader.js";
import { promptTokenIds } from "../../worker/engine/prompt.js";
import { MODEL, loadStories, modelsDir, readModelJson, responseOf, run, task } from "./helpers.js";

const golden = readModelJson("golden.json");
const referenceLogits = readModelJson("reference/logits.json");
const referenceTokenizer = readModelJson<Array<{ text: string; spm_ids: number[]; spm_decode: string }>>("reference/tokenizer.json");

describe("engine: golden greedy continuations of stories260K", function () {
  let engine: GptEngine;
  let model: LoadedModel;

  before(async function () {
    engine = new GptEngine({ modelsDir });
    model = await loadStories();
  });
  after(async function () {
    await engine.close();
    await model.session.release();
  });

  for (const c of golden.cases) {
    it(`${c.name}: prompt ids, output ids, text and finish_reason are exact`, async function () {
      const messages = c.messages ?? [{ role: "user", content: c.prompt }];
      const promptIds = promptTokenIds(model.tokenizer, messages);
      expect(promptIds).to.deep.equal(c.prompt_ids);

      const outcome = await run(engine, task({ messages, generation_config: { max_new_tokens: golden.decoding.max_new_tokens } }));
      const response = responseOf(outcome);
      expect(response.model).to.equal(MODEL);
      expect(response.choices).to.have.length(1);
      expect(response.choices[0].message).to.deep.equal({ role: "assistant", content: c.output_text });
      expect(response.choices[0].finish_reason).to.equal(c.finish_reason);
      expect(response.usage).to.deep.equal({
        prompt_tokens: c.num_prompt_tokens,
        completion_tokens: c.output_ids.length,
        total_tokens: c.num_prompt_tokens + c.output_ids.length,
      });
      // The ids themselves: re-encode prompt + content and compare with the golden ids.
      const fullText = model.tokenizer.decode([...c.prompt_ids, ...c.output_ids], { skip_special_tokens: true });
      expect(fullText).to.equal(c.full_text);
    });
  }

  it("golden output ids equal the engine's greedy ids (token level)", async function () {
    const config = resolveGenerationConfig({ max_new_tokens: 32 }, model.generationConfig, model.config);
    for (const c of golden.cases) {
      const [sequence] = await greedyOrSample(new ForwardPass(model), c.prompt_ids, config, [], 0);
      expect(sequence.tokenIds, c.name).to.deep.equal(c.output_ids);
      expect(sequence.finishReason, c.name).to.equal(c.finish_reason);
    }
  });

  it("first-step logits match reference/logits.json within 1e-4", async function () {
    const forward = new ForwardPass(model);
    for (const c of referenceLogits.cases) {
      const { logits } = await forward.run([c.ids], forward.emptyCache(1));
      expect(logits[0]).to.have.length(c.last_logits.length);
      const worst = Math.max(...c.last_logits.map((v: number, i: number) => Math.abs(v - logits[0][i])));
      expect(worst, `max |diff| for ids ${c.ids}`).to.be.below(1e-4);
    }
  });

  it("the 40-token greedy run of reference/logits.json is reproduced id for id", async function () {
    const { greedy40 } = referenceLogits;
    const config = resolveGenerationConfig({ max_new_tokens: greedy40.ids.length }, model.generationConfig, model.config);
    expect(config.eos_token_ids).to.deep.equal(golden.decoding.stop_token_ids);
    const [sequence] = await greedyOrSample(new ForwardPass(model), greedy40.prompt_ids, config, [], 0);
    expect(sequence.tokenIds).to.deep.equal(greedy40.ids);
  });

  it("fp16, q8 and q4 variants give fp32's greedy ids for the first 20 tokens (as the fixture promises)", async function () {
    const settings = { generation_config: { max_new_tokens: 20 } };
    const fp32 = await run(engine, task(settings));
    for (const variant of [{ dtype: "float16" as const }, { quantize_bits: 8 as const }, { quantize_bits: 4 as const }]) {
      const outcome = await run(engine, task({ ...settings, ...variant }));
      expect(outcome.canonicalJson, JSON.stringify(variant)).to.equal(fp32.canonicalJson);
      expect(outcome.provenance.modelSha256).not.to.equal(fp32.provenance.modelSha256);
    }
  });

  it("the tokenizer matches sentencepiece (reference/tokenizer.json) both ways", function () {
    expect(referenceTokenizer.length).to.be.greaterThan(0);
    for (const ref of referenceTokenizer) {
      expect(model.tokenizer.encode(ref.text), ref.text).to.deep.equal(ref.spm_ids);
      expect(model.tokenizer.decode(ref.spm_ids, { skip_special_tokens: true }), ref.text).to.equal(ref.spm_decode);
    }
  });
});
