import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { GptEngine } from "../../worker/engine/index.js";
import { SplitMix64, Xoshiro256StarStar } from "../../worker/engine/prng.js";
import { pickToken } from "../../worker/engine/sampler.js";
import { modelsDir, repoRoot, responseOf, run, task } from "./helpers.js";

const execFileAsync = promisify(execFile);

async function runTaskInNewProcess(file: string): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [path.join(repoRoot, "bin/triad.js"), "run-task", file, "--models-dir", modelsDir], {
    cwd: repoRoot,
  });
}

describe("engine: PRNG", function () {
  it("SplitMix64 matches its reference output for seed 0", function () {
    const rng = new SplitMix64(0n);
    expect(rng.next()).to.equal(0xe220a8397b1dcdafn);
    expect(rng.next()).to.equal(0x6e789e6aa1b965f4n);
  });

  it("xoshiro256** matches the reference implementation for state {1, 2, 3, 4}", function () {
    const rng = new Xoshiro256StarStar([1n, 2n, 3n, 4n]);
    expect([rng.nextUint64(), rng.nextUint64(), rng.nextUint64(), rng.nextUint64()]).to.deep.equal([
      11520n,
      0n,
      1509978240n,
      1215971899390074240n,
    ]);
  });

  it("uniforms lie in [0, 1) and streams of one seed differ", function () {
    const a = Xoshiro256StarStar.forStream(42, 0);
    const b = Xoshiro256StarStar.forStream(42, 1);
    const drawsA = Array.from({ length: 1000 }, () => a.nextUniform());
    const drawsB = Array.from({ length: 1000 }, () => b.nextUniform());
    expect(drawsA.every((u) => u >= 0 && u < 1)).to.equal(true);
    expect(drawsA).not.to.deep.equal(drawsB);
    expect(Xoshiro256StarStar.forStream(42, 1).nextUniform()).to.equal(drawsB[0]);
  });
});

describe("engine: token picker", function () {
  it("follows a known distribution (chi-square, 4 degrees of freedom, p > 0.001)", function () {
    const probs = [0.5, 0.25, 0.125, 0.0625, 0.0625];
    const scores = Float32Array.from([...probs.map(Math.log), -Infinity, -Infinity]);
    const rng = Xoshiro256StarStar.forStream(12345, 0);
    const draws = 100_000;
    const counts = new Array(scores.length).fill(0);
    for (let i = 0; i < draws; i++) counts[pickToken(scores, rng.nextUniform())]++;
    expect(counts[5] + counts[6], "filtered tokens are never picked").to.equal(0);
    const chiSquare = probs.reduce((sum, p, i) => sum + (counts[i] - p * draws) ** 2 / (p * draws), 0);
    expect(chiSquare).to.be.below(18.47);
  });

  it("maps the uniform number through the cumulative weights in id order", function () {
    const scores = Float32Array.from([Math.log(0.2), -Infinity, Math.log(0.8)]);
    expect(pickToken(scores, 0)).to.equal(0);
    expect(pickToken(scores, 0.19)).to.equal(0);
    expect(pickToken(scores, 0.21)).to.equal(2);
    expect(pickToken(scores, 1 - 2 ** -53)).to.equal(2);
  });
});

describe("engine: sampling", function () {
  let engine: GptEngine;
  let dir: string;
  before(async () => {
    engine = new GptEngine({ modelsDir });
    dir = await mkdtemp(path.join(os.tmpdir(), "triad-sampling-"));
  });
  after(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("the same task in two separate processes gives identical bytes; another seed differs", async function () {
    this.timeout(60_000);
    const example = path.join(repoRoot, "examples/multiple-sequences.json");
    const [first, second] = [await runTaskInNewProcess(example), await runTaskInNewProcess(example)];
    expect(first.stdout.length).to.be.greaterThan(0);
    expect(first.stdout).to.equal(second.stdout);
    const hash = (stderr: string) => /resultHash (0x[0-9a-f]{64})/.exec(stderr)?.[1];
    expect(hash(first.stderr)).to.match(/^0x/).and.equal(hash(second.stderr));

    const otherSeed = path.join(dir, "other-seed.json");
    const parsed = JSON.parse(await readFile(example, "utf8"));
    await writeFile(otherSeed, JSON.stringify({ ...parsed, seed: parsed.seed + 1 }));
    expect((await runTaskInNewProcess(otherSeed)).stdout).not.to.equal(first.stdout);
  });

  it("returned sequences use distinct streams, and stream i does not depend on how many are asked", async function () {
    const settings = { do_sample: true, max_new_tokens: 24, top_k: 0 };
    const three = responseOf(await run(engine, task({ generation_config: { ...settings, num_return_sequences: 3 } })));
    const one = responseOf(await run(engine, task({ generation_config: { ...settings, num_return_sequences: 1 } })));
    expect(new Set(three.choices.map((c) => c.message.content)).size).to.equal(3);
    expect(three.choices.map((c) => c.index)).to.deep.equal([0, 1, 2]);
    expect(one.choices[0]).to.deep.equal(three.choices[0]);
    expect(three.usage.completion_tokens).to.equal(72);
  });

  it("top_k = 1 and a tiny top_p both equal greedy decoding", async function () {
    const prompt = [{ role: "user" as const, content: "One day, Lily went to the park with her mom." }];
    const greedy = responseOf(await run(engine, task({ messages: prompt, generation_config: { max_new_tokens: 32 } })));
    for (const settings of [{ top_k: 1 }, { top_k: 0, top_p: 1e-6 }, { top_p: 1e-6, temperature: 1.7 }]) {
      for (const seed of [1, 2, 3]) {
        const sampled = responseOf(
          await run(engine, task({ seed, messages: prompt, generation_config: { max_new_tokens: 32, do_sample: true, ...settings } })),
        );
        expect(sampled, JSON.stringify(settings)).to.deep.equal(greedy);
      }
    }
  });

  it("sampling with a high temperature departs from greedy", async function () {
    const greedy = responseOf(await run(engine, task({ generation_config: { max_new_tokens: 32 } })));
    const hot = responseOf(
      await run(engine, task({ generation_config: { max_new_tokens: 32, do_sample: true, temperature: 1.5, top_k: 0 } })),
    );
    expect(hot.choices[0].message.content).not.to.equal(greedy.choices[0].message.content);
  });
});
