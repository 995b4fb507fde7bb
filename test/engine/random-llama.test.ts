import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ForwardPass } from "../../worker/engine/forward.js";
import { GptEngine } from "../../worker/engine/index.js";
import { loadModel, releaseModel, type LoadedModel } from "../../worker/engine/model-loader.js";
import { checkOutDir, makeRandomLlama, parameterCount, type LlamaShape } from "../../scripts/make-random-llama.js";
import { loadStories, repoRoot, responseOf, run } from "./helpers.js";

// Grouped-query attention (4 heads, 2 KV heads) and a vocabulary larger than the tokenizer's 512.
const SHAPE: LlamaShape = { hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, vocab: 520, context: 64 };
const settings = { device: "cpu" as const, intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: "all" as const };

describe("scripts/make-random-llama.ts", function () {
  this.timeout(60_000);
  let dir: string;
  let model: LoadedModel;

  before(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "triad-random-llama-"));
    await makeRandomLlama({ ...SHAPE, outDir: dir, name: "tiny", seed: 7 });
    model = await loadModel({ model: "tiny" }, dir, false, settings);
  });

  after(async function () {
    if (model) await releaseModel(model);
    await rm(dir, { recursive: true, force: true });
  });

  it("has stories260K's ONNX input/output names and types, with its own layer count and shapes", async function () {
    const stories = await loadStories();
    try {
      const names = (m: LoadedModel) =>
        [m.session.inputNames, m.session.outputNames].map((list) => list.map((n) => n.replace(/\.\d+\./, ".N.")));
      const unique = (lists: string[][]) => lists.map((list) => [...new Set(list)]);
      expect(unique(names(model))).to.deep.equal(unique(names(stories)));
      expect(model.numLayers).to.equal(SHAPE.layers);
      expect(model.session.inputMetadata.find((m) => m.name === "past_key_values.1.value")).to.deep.include({
        type: "float32",
        shape: ["batch_size", SHAPE.kvHeads, "past_sequence_length", SHAPE.hidden / SHAPE.heads],
      });
      expect(model.session.outputMetadata.find((m) => m.name === "logits")).to.deep.include({
        shape: ["batch_size", "sequence_length", SHAPE.vocab],
      });
    } finally {
      await releaseModel(stories);
    }
  });

  it("decoding with the KV cache gives the logits of running the whole sequence from scratch (mask, RoPE, cache agree)", async function () {
    const forward = new ForwardPass(model);
    const tokens = [1, 45, 300, 7, 511, 519, 88, 2, 16, 400, 3, 250];
    let { logits, cache } = await forward.run([tokens.slice(0, 4)], forward.emptyCache(1));
    const incremental = [logits[0]];
    for (const token of tokens.slice(4)) {
      ({ logits, cache } = await forward.run([[token]], cache));
      incremental.push(logits[0]);
    }
    for (let i = 0; i < incremental.length; i++) {
      const prefix = tokens.slice(0, 4 + i);
      const { logits: full } = await forward.run([prefix], forward.emptyCache(1));
      const maxDiff = full[0].reduce((worst, v, t) => Math.max(worst, Math.abs(v - incremental[i][t])), 0);
      expect(maxDiff, `position ${prefix.length}`).to.be.below(1e-4);
    }
    // Random weights still give a non-degenerate distribution (not all logits equal).
    expect(Math.max(...incremental[0]) - Math.min(...incremental[0])).to.be.above(1e-3);
  });

  it("runs as a task through the engine, beam search included", async function () {
    const engine = new GptEngine({ modelsDir: dir });
    try {
      for (const generation_config of [{ max_new_tokens: 8 }, { max_new_tokens: 4, num_beams: 2 }]) {
        const outcome = await run(engine, {
          model: "tiny",
          messages: [{ role: "user", content: "Once upon a time" }],
          seed: 1,
          generation_config,
        });
        expect(responseOf(outcome).usage.completion_tokens).to.equal(generation_config.max_new_tokens);
      }
    } finally {
      await engine.close();
    }
  });

  it("writes every parameter as fp32 external data and counts parameters from the shape", async function () {
    const size = (await stat(path.join(dir, "tiny", "onnx", "model.onnx_data"))).size;
    const params = parameterCount(SHAPE);
    expect(params).to.equal(520 * 32 * 2 + 2 * (32 * 32 * 2 + 32 * 16 * 2 + 3 * 32 * 64 + 2 * 32) + 32);
    expect(size).to.be.at.least(params * 4);
    expect(size).to.be.below(params * 4 + 4096 * (SHAPE.layers * 9 + 3)); // at most one 4 KiB alignment pad per tensor
  });

  it("refuses to write a model into the repository, except under the ignored bench/out", function () {
    expect(() => checkOutDir(path.join(repoRoot, "models"))).to.throw(/must not be written into the repository/);
    expect(() => checkOutDir(repoRoot)).to.throw(/must not be written into the repository/);
    expect(checkOutDir(path.join(repoRoot, "bench/out/models"))).to.equal(path.join(repoRoot, "bench/out/models"));
    expect(checkOutDir("/tmp/x")).to.equal("/tmp/x");
  });
});
