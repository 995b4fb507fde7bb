import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { mkdtemp, readdir, readFile, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GptEngine } from "../../worker/engine/index.js";
import type { LoadedModel } from "../../worker/engine/model-loader.js";
import { completionText, promptTokenIds, renderChatPrompt } from "../../worker/engine/prompt.js";
import { loadStories, modelDir, responseOf, run, task } from "./helpers.js";

describe("engine: chat template and tokenization", function () {
  let model: LoadedModel;
  before(async () => (model = await loadStories()));
  after(() => model.session.release());

  it("renders the model's template (BOS + contents joined by newlines) and adds no second BOS", function () {
    const ids = promptTokenIds(model.tokenizer, [
      { role: "system", content: "Be kind." },
      { role: "user", content: "Hi" },
    ]);
    expect(ids[0]).to.equal(1);
    expect(ids.filter((id) => id === 1)).to.have.length(1);
    expect(ids).to.deep.equal(model.tokenizer.encode("Be kind.\nHi"));
  });

  it("a single user message gives the same ids as tokenizing its text with special tokens", function () {
    const text = "Sara saw a 🐶 in the garden.";
    expect(promptTokenIds(model.tokenizer, [{ role: "user", content: text }])).to.deep.equal(model.tokenizer.encode(text));
  });

  it("roles do not change the rendered prompt of this template", function () {
    const asUser = promptTokenIds(model.tokenizer, [{ role: "user", content: "A dog." }]);
    const asSystem = promptTokenIds(model.tokenizer, [{ role: "system", content: "A dog." }]);
    expect(asSystem).to.deep.equal(asUser);
  });

  it("completion text is decode(prompt + completion) minus decode(prompt), special tokens skipped", function () {
    const prompt = model.tokenizer.encode("Once upon a time");
    // golden.json "once_upon_a_time": its first output ids are ",", "▁there", "▁was"; then the stop id <s>.
    expect(completionText(model.tokenizer, prompt, [432, 383, 286, 1])).to.equal(", there was");
  });

  it("byte-fallback pieces split across tokens decode to the whole character", function () {
    const ids = model.tokenizer.encode("a 🐶", { add_special_tokens: false });
    expect(ids.length).to.be.greaterThan(3); // the emoji is 4 byte tokens
    const prompt = model.tokenizer.encode("x");
    expect(completionText(model.tokenizer, prompt, ids)).to.equal(" a 🐶");
  });
});

describe("engine: a model without a chat template", function () {
  let dir: string;
  let engine: GptEngine;

  before(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "triad-notemplate-"));
    const target = path.join(dir, "plain");
    await mkdir(target);
    for (const entry of await readdir(modelDir)) {
      if (entry !== "tokenizer_config.json") await symlink(path.join(modelDir, entry), path.join(target, entry));
    }
    const config = JSON.parse(await readFile(path.join(modelDir, "tokenizer_config.json"), "utf8"));
    delete config.chat_template;
    await writeFile(path.join(target, "tokenizer_config.json"), JSON.stringify(config));
    engine = new GptEngine({ modelsDir: dir });
  });
  after(async function () {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("joins message contents with a newline and tokenizes normally (BOS added once)", async function () {
    const messages = [
      { role: "user" as const, content: "Tom had a big red ball." },
      { role: "user" as const, content: "He" },
    ];
    const plain = responseOf(await run(engine, task({ model: "plain", messages, generation_config: { max_new_tokens: 8 } })));
    const model = await loadStories();
    const expectedPrompt = model.tokenizer.encode("Tom had a big red ball.\nHe");
    await model.session.release();
    expect(plain.usage.prompt_tokens).to.equal(expectedPrompt.length);
  });
});

describe("engine: a template's refusal in the hashed result", function () {
  const refusal = (template: string, content: string) => {
    const tokenizer = { get_chat_template: () => template, config: {} } as unknown as Parameters<typeof renderChatPrompt>[0];
    try {
      renderChatPrompt(tokenizer, [{ role: "user", content }]);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("expected the template to refuse");
  };
  const prefix = "invalid task: $.messages: the model's chat template refused them:";

  it("keeps the words of raise_exception, strftime_now and the jinja runtime", function () {
    expect(refusal("{{ raise_exception('no ' + messages[0].role) }}", "x")).to.equal(`${prefix} no user`);
    expect(refusal("{{ strftime_now(messages[0].content) }}", "%Q")).to.equal(`${prefix} strftime_now: %Q is not supported`);
  });

  it("names only the kind of an error of the JavaScript engine itself (its wording depends on the V8 version)", function () {
    expect(refusal("{{ strftime_now(none) }}", "x")).to.equal(`${prefix} the template failed (TypeError)`);
  });
});
