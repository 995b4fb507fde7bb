import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "mocha";
import { FAMILIES, makeFamilyFixture, type FamilyFixture } from "../../scripts/make-family-fixtures.js";
import llamaTokenizer from "llama-tokenizer-js";
import { Tokenizer as HfTokenizer } from "tokenizers";
import { greedyOrSample } from "../../worker/engine/decode-loop.js";
import { ForwardPass, halfRowToFloat } from "../../worker/engine/forward.js";
import { resolveGenerationConfig } from "../../worker/engine/generation-config.js";
import { GptEngine, encodeTask, type ChatMessage } from "../../worker/engine/index.js";
import { loadModel, releaseModel, type LoadedModel } from "../../worker/engine/model-loader.js";
import { buildProcessors } from "../../worker/engine/logits-processors.js";
import { completionText, pinnedStrftime, promptTokenIds, renderChatPrompt } from "../../worker/engine/prompt.js";
import { repoRoot } from "./helpers.js";

const settings = { device: "cpu" as const, intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: "all" as const };
const REFERENCE = path.join(repoRoot, "test/engine/chat_template_reference.py");

/** Debian's python3-jinja2 (the README's set-up installs it), else any `python3` on PATH that has jinja2. */
const PYTHON = ["/usr/bin/python3", "python3"].find((python) => {
  try {
    execFileSync(python, ["-c", "import jinja2"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});

/** Python's jinja2, configured as HF renders chat templates (see chat_template_reference.py). */
function referenceRender(request: object): { text?: string | string[]; error?: string } {
  if (!PYTHON) throw new Error("no python3 with jinja2: install Debian's python3-jinja2 (see the README's set-up command)");
  return JSON.parse(execFileSync(PYTHON, [REFERENCE], { input: JSON.stringify(request), encoding: "utf8" }));
}

/** The special-token variables of the fixture's tokenizer_config.json (what HF passes to the template). */
function specialTokens(modelDir: string): Record<string, string> {
  const config = JSON.parse(readFileSync(path.join(modelDir, "tokenizer_config.json"), "utf8"));
  const tokens: Record<string, string> = {};
  for (const name of ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]) {
    const value = config[name];
    if (typeof value === "string" && value) tokens[name] = value;
    else if (value && typeof value === "object" && value.content) tokens[name] = value.content;
  }
  return tokens;
}

const CONVERSATIONS: ChatMessage[][] = [
  [{ role: "user", content: "Hello, who are you?" }],
  [
    { role: "system", content: "You answer in one line." },
    { role: "user", content: "Name a prime." },
    { role: "assistant", content: "7" },
    { role: "user", content: 'Another one, with "quotes", a tab\tand unicode: ñ 日本 🙂\nsecond line' },
  ],
  [{ role: "user", content: "  leading and trailing spaces  " }],
];

function runTaskCli(file: string, modelsDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, "bin/triad.js"), "run-task", file, "--models-dir", modelsDir],
      { cwd: repoRoot },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }),
    );
  });
}

describe("engine: model families (random weights in each export layout, real tokenizers and chat templates)", function () {
  this.timeout(300_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), "triad-families-"));
  const written = new Map<string, Promise<string>>();
  /** Each fixture is written once, when a test needs it (so `--grep phi` builds Phi's alone). */
  const fixtureDir = (fixture: FamilyFixture) => {
    if (!written.has(fixture.name)) written.set(fixture.name, makeFamilyFixture(fixture, dir));
    return written.get(fixture.name)!;
  };
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("fp16 logits convert exactly: every binary16 value equals its float32 built from the bits", function () {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const converted = halfRowToFloat(all);
    const bits = new Uint32Array(1);
    const asFloat = new Float32Array(bits.buffer);
    for (let h = 0; h < 0x10000; h++) {
      const sign = (h & 0x8000) << 16;
      const exponent = (h >> 10) & 0x1f;
      const fraction = h & 0x3ff;
      if (exponent === 0) {
        expect(converted[h], `0x${h.toString(16)}`).to.equal((sign ? -1 : 1) * fraction * 2 ** -24);
        continue;
      }
      bits[0] = sign | ((exponent === 0x1f ? 0xff : exponent - 15 + 127) << 23) | (fraction << 13);
      if (Number.isNaN(asFloat[0])) expect(Number.isNaN(converted[h]!)).to.equal(true);
      else expect(converted[h], `0x${h.toString(16)}`).to.equal(asFloat[0]);
    }
  });

  it("strftime_now is pinned: Python's strftime on 2024-07-26 for every directive we allow, others refused", function () {
    const formats = ["%d %b %Y", "%Y-%m-%d", "%A, %B %e", "%a %y %H:%M:%S %%"];
    expect(formats.map(pinnedStrftime)).to.deep.equal(referenceRender({ strftime: formats }).text);
    expect(() => pinnedStrftime("%Z")).to.throw(/%Z is not supported/);
  });

  for (const fixture of FAMILIES) {
    describe(`${fixture.family} (${fixture.realModel} layout, ${fixture.tokenizerSource ?? fixture.tokenizerPackage})`, function () {
      let model: LoadedModel;
      before(async function () {
        await fixtureDir(fixture);
        model = await loadModel({ model: fixture.name }, dir, false, settings);
      });
      after(async () => model && (await releaseModel(model)));

      it("loads with the family's I/O: variant file, position_ids, num_logits_to_keep, KV type, head_dim, stop ids", function () {
        const layout = fixture.layout;
        expect(model.modelFile).to.equal(`${fixture.name}/onnx/${layout.onnxFile ?? "model.onnx"}`);
        expect(model.hasPositionIds).to.equal(layout.positionIds !== false);
        expect(model.hasNumLogitsToKeep).to.equal(layout.numLogitsToKeep === true);
        expect(model.kvType).to.equal(layout.kvDtype ?? "float32");
        expect(model.kvShape).to.deep.equal({
          heads: fixture.shape.kvHeads,
          headDim: layout.headDim ?? fixture.shape.hidden / fixture.shape.heads,
        });
        expect(resolveGenerationConfig({}, model.generationConfig, model.config).eos_token_ids).to.deep.equal(fixture.eosTokenIds);
      });

      it("decoding with the KV cache gives the logits of running the whole sequence from scratch", async function () {
        const forward = new ForwardPass(model);
        const tokens = promptTokenIds(model.tokenizer, CONVERSATIONS[0]!).slice(0, 12);
        let { logits, cache } = await forward.run([tokens.slice(0, 8)], forward.emptyCache(1));
        const tolerance = model.kvType === "float16" ? 2e-2 : 1e-4;
        for (let i = 8; i < tokens.length; i++) {
          ({ logits, cache } = await forward.run([[tokens[i]!]], cache));
          const { logits: full } = await forward.run([tokens.slice(0, i + 1)], forward.emptyCache(1));
          const maxDiff = full[0]!.reduce((worst, v, t) => Math.max(worst, Math.abs(v - logits[0]![t]!)), 0);
          expect(maxDiff, `position ${i}`).to.be.below(tolerance);
        }
        expect(logits[0]!.length).to.equal(fixture.shape.vocab);
      });

      it("renders the chat prompt exactly as Python's jinja2 does (HF's settings), the task fields alone deciding it", function () {
        const template = model.tokenizer.get_chat_template();
        for (const messages of CONVERSATIONS) {
          const reference = referenceRender({ template, messages, special_tokens: specialTokens(path.join(dir, fixture.name)) });
          let ours: string | undefined;
          let error: string | undefined;
          try {
            ours = renderChatPrompt(model.tokenizer, messages);
          } catch (e) {
            error = (e as Error).message;
          }
          if (reference.error !== undefined) {
            expect(error, `${fixture.family} refuses as jinja2 does`).to.contain(reference.error);
          } else {
            expect(error).to.equal(undefined);
            expect(ours).to.equal(reference.text);
          }
        }
        if (fixture.family === "llama3") expect(renderChatPrompt(model.tokenizer, CONVERSATIONS[0]!)).to.contain("Today Date: 26 Jul 2024");
      });

      it("tokenizes each rendered prompt as HF's Rust tokenizers library does (what Python's AutoTokenizer runs)", async function () {
        const hf = HfTokenizer.fromFile(path.join(dir, fixture.name, "tokenizer.json"));
        let compared = 0;
        for (const messages of CONVERSATIONS) {
          let text: string;
          try {
            text = renderChatPrompt(model.tokenizer, messages);
          } catch {
            continue; // a template that refuses the conversation (compared with jinja2 above)
          }
          const encoding = await hf.encode(text, null, { addSpecialTokens: false });
          expect(promptTokenIds(model.tokenizer, messages), JSON.stringify(text)).to.deep.equal(encoding.getIds());
          compared++;
        }
        expect(compared).to.be.greaterThan(0);
      });

      it("run-task gives byte-identical results in separate processes (a sampled task)", async function () {
        for (const generation_config of [{ max_new_tokens: 6, do_sample: true, top_k: 40, temperature: 0.9 }]) {
          const file = path.join(dir, `${fixture.name}-task.json`);
          writeFileSync(file, encodeTask({ model: fixture.name, messages: CONVERSATIONS[1]!, seed: 5, generation_config }));
          const [first, second] = [await runTaskCli(file, dir), await runTaskCli(file, dir)];
          expect(first.code, first.stderr).to.equal(0);
          expect(second.stdout).to.equal(first.stdout);
          const response = JSON.parse(first.stdout);
          expect(response.model).to.equal(fixture.name);
          expect(response.usage.completion_tokens).to.be.within(1, 6);
          expect(first.stderr.match(/resultHash 0x[0-9a-f]{64}/)![0]).to.equal(second.stderr.match(/resultHash 0x[0-9a-f]{64}/)![0]);
        }
      });
    });
  }

  describe("phi3.5: Llama 2's vocabulary, rstrip added tokens, logits over a padded vocabulary", function () {
    const phi = FAMILIES.find((f) => f.family === "phi3.5")!;
    /** Ids past the tokenizer's last token (32010) that the 32064 logits still cover. */
    const TOKENIZER_SIZE = 32011;
    let model: LoadedModel;
    before(async function () {
      await fixtureDir(phi);
      model = await loadModel({ model: phi.name }, dir, false, settings);
    });
    after(async () => model && (await releaseModel(model)));

    it("tokenizes text as Llama 2 does (llama-tokenizer-js, an independent BPE over the same data, and its pinned ids)", function () {
      const texts = [
        "Hello world!",
        "grabbed",
        " grabbed",
        "           grabbed",
        "\n",
        " \n",
        "\ttabs\t\t\t\tout here",
        "ax\n####\nboo",
        "镇",
        "🦙Ꙋ",
        ...CONVERSATIONS.flat().map((m) => m.content),
      ];
      for (const text of texts) {
        // Both add <s> and the leading "▁" (transformers.js: the post-processor and the Prepend normalizer).
        expect(model.tokenizer.encode(text), JSON.stringify(text)).to.deep.equal(llamaTokenizer.encode(text));
      }
      // llama-tokenizer-js' README: <s> ▁Hello ▁world ! (Llama 2's ids; a Mistral vocabulary gives 22557 for ▁Hello).
      expect(model.tokenizer.encode("Hello world!")).to.deep.equal([1, 15043, 3186, 29991]);
    });

    it("the rendered prompt's ids: rstrip added tokens swallow the newline, each text piece gets the ▁ prefix", function () {
      // "<|user|>\nHello<|end|>\n<|assistant|>\n": <|user|> (32010) takes the "\n" after it (rstrip), "Hello" is a
      // piece of its own and the Prepend normalizer makes it "▁Hello" (15043); <|end|> (32007) and <|assistant|>
      // (32001) take their newlines too, so nothing follows.
      expect(promptTokenIds(model.tokenizer, [{ role: "user", content: "Hello" }])).to.deep.equal([32010, 15043, 32007, 32001]);
      // rstrip takes ALL the whitespace after <|user|>, the content's own leading spaces too; <|end|> has no lstrip,
      // so the trailing two spaces stay ("▁▁", 259). An assistant "7": "▁7" is no token, so "▁" (29871) + "7" (29955).
      const ids = promptTokenIds(model.tokenizer, [
        { role: "user", content: "  leading and trailing spaces  " },
        { role: "assistant", content: "7" },
      ]);
      // <|user|> ▁leading ▁and ▁trailing ▁spaces ▁▁ <|end|> <|assistant|> ▁ 7 <|end|> <|assistant|>
      expect(ids).to.deep.equal([32010, 8236, 322, 25053, 8162, 259, 32007, 32001, 29871, 29955, 32007, 32001]);
    });

    it("unusual spaces, </s> and <s> in text, decoding: as HF's Rust tokenizers library; its one known difference", async function () {
      const hf = HfTokenizer.fromFile(path.join(dir, phi.name, "tokenizer.json"));
      const conversations: ChatMessage[][] = [
        [
          { role: "user", content: "\u00a0no-break and \u3000ideographic spaces after <|user|>" },
          { role: "assistant", content: "</s> is not special <s>x" },
        ],
      ];
      for (const messages of conversations) {
        const text = renderChatPrompt(model.tokenizer, messages);
        const encoding = await hf.encode(text, null, { addSpecialTokens: false });
        expect(promptTokenIds(model.tokenizer, messages), JSON.stringify(text)).to.deep.equal(encoding.getIds());
      }
      for (const ids of [
        [32010, 15043, 32063, 3186, 32011, 32007],
        [15043, 2, 3186, 1, 0, 32000],
      ]) {
        expect(model.tokenizer.decode(ids, { skip_special_tokens: true })).to.equal(await hf.decode(ids, true));
      }
      // The one difference known: rstrip takes U+FEFF in JavaScript (trimStart), not in Rust (\s). docs/engine.md.
      const bom = [{ role: "user" as const, content: "\ufeffbom" }];
      const hfBom = await hf.encode(renderChatPrompt(model.tokenizer, bom), null, { addSpecialTokens: false });
      expect(promptTokenIds(model.tokenizer, bom)).to.not.deep.equal(hfBom.getIds());
    });

    it("ids with no token (32011–32063) decode to nothing, as HF tokenizers' decode drops them; deterministic", function () {
      const prompt = [32010, 15043];
      // <unk> for transformers.js, a special token skipped like <|end|>; HF's Rust decode skips unknown ids outright.
      expect(completionText(model.tokenizer, prompt, [32063, 3186, 32011, 32007])).to.equal(" world");
      expect(completionText(model.tokenizer, prompt, [32011, 32063])).to.equal("");
    });

    it("a sampled task whose completion has padded ids runs the same in separate processes, their text dropped", async function () {
      const messages = CONVERSATIONS[0]!;
      const generation_config = { max_new_tokens: 64, do_sample: true, top_k: 0 };
      const config = resolveGenerationConfig(generation_config, model.generationConfig, model.config);
      const promptIds = promptTokenIds(model.tokenizer, messages);
      // Random weights give near-uniform logits: about 53/32064 of the draws are padded ids. Find a seed with one.
      let found: { seed: number; ids: number[] } | undefined;
      for (let seed = 0; seed < 200 && !found; seed++) {
        const [sequence] = await greedyOrSample(new ForwardPass(model), promptIds, config, buildProcessors(config), seed);
        if (sequence!.tokenIds.some((id) => id >= TOKENIZER_SIZE)) found = { seed, ids: sequence!.tokenIds };
      }
      expect(found, "a seed whose completion has an id past the tokenizer").to.not.equal(undefined);
      const file = path.join(dir, "phi-padded-task.json");
      writeFileSync(file, encodeTask({ model: phi.name, messages, seed: found!.seed, generation_config }));
      const [first, second] = [await runTaskCli(file, dir), await runTaskCli(file, dir)];
      expect(first.code, first.stderr).to.equal(0);
      expect(second.stdout).to.equal(first.stdout);
      const response = JSON.parse(first.stdout);
      expect(response.usage.completion_tokens).to.equal(found!.ids.length);
      const known = found!.ids.filter((id) => id < TOKENIZER_SIZE);
      const decode = (ids: number[]) => model.tokenizer.decode(ids, { skip_special_tokens: true });
      expect(response.choices[0].message.content).to.equal(decode([...promptIds, ...known]).slice(decode(promptIds).length));
    });
  });

  it("a template that raises (Gemma 3: roles must alternate) is the deterministic invalid_task outcome", async function () {
    await fixtureDir(FAMILIES.find((f) => f.family === "gemma3")!);
    const engine = new GptEngine({ modelsDir: dir });
    try {
      const messages = [
        { role: "user", content: "a" },
        { role: "user", content: "b" },
      ];
      const outcome = await engine.runTask(
        encodeTask({ model: "gemma3-tiny", messages, seed: 1, generation_config: { max_new_tokens: 2 } }),
      );
      expect(outcome.document).to.have.nested.property("error.code", "invalid_task");
      expect((outcome.document as { error: { message: string } }).error.message).to.contain("Conversation roles must alternate");
    } finally {
      await engine.close();
    }
  });
});
