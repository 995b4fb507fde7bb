import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { spawn } from "node:child_process";
import path from "node:path";
import { GptEngine, encodeTask, validateTask, type TaskErrorDocument, type TaskOutcome } from "../../worker/engine/index.js";
import { Xoshiro256StarStar } from "../../worker/engine/prng.js";
import { UNASSIGNED, UNICODE_VERSION } from "../../worker/engine/unicode-unassigned.js";
import { MAX_GENERATED_TOKENS, MAX_PROMPT_TOKENS } from "../../worker/engine/validation.js";
import { MODEL, longContextModels, modelsDir, repoRoot, responseOf, run, task } from "./helpers.js";

/**
 * An attacker pays one fee and writes the task document: it must never make honest nodes disagree, fault
 * (no commit on every node) or run past the commit window. Each attack is refused deterministically with the
 * field named, or gives byte-identical results in separate processes.
 */
const utf8 = (text: string) => new TextEncoder().encode(text);

function errorOf(outcome: TaskOutcome): TaskErrorDocument["error"] {
  expect(outcome.kind, outcome.canonicalJson).to.equal("error");
  return (outcome.document as TaskErrorDocument).error;
}

/** Runs task documents in a fresh Node process (the engine loaded there), returning each canonical JSON. */
function runInNewProcess(tasks: Uint8Array[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "scripts/run-tasks-child.ts"), modelsDir], {
      cwd: repoRoot,
      stdio: ["pipe", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout.trimEnd().split("\n")) : reject(new Error(`child exited with ${code}`))));
    child.stdin.end(JSON.stringify(tasks.map((bytes) => Buffer.from(bytes).toString("base64"))));
  });
}

const PREFIX = `{"model":"${MODEL}","messages":[{"role":"user","content":"Once upon a time"}]`;

describe("engine: attacks through the task document", function () {
  let engine: GptEngine;
  before(() => (engine = new GptEngine({ modelsDir })));
  after(() => engine.close());

  describe("duplicate keys are refused (JSON.parse keeps the last, other readers the first)", function () {
    const cases: Array<[string, string, string]> = [
      ["top level", `${PREFIX},"seed":1,"seed":2}`, "$.seed"],
      ["after unescaping, as JSON.parse compares keys", `${PREFIX},"seed":1,"se\\u0065d":2}`, "$.seed"],
      ["in generation_config", `${PREFIX},"seed":1,"generation_config":{"num_beams":1,"num_beams":4}}`, "$.generation_config.num_beams"],
      ["in a message", `{"model":"${MODEL}","messages":[{"role":"user","content":"a","content":"b"}],"seed":1}`, "$.messages[0].content"],
    ];
    for (const [name, text, at] of cases) {
      it(name, async function () {
        expect(errorOf(await engine.runTask(utf8(text)))).to.deep.equal({
          code: "invalid_task",
          message: `invalid task: ${at}: duplicate key (a key may appear once per object)`,
        });
      });
    }

    it("the same key in different objects is fine", async function () {
      const text =
        `{"model":"${MODEL}","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"seed":1,` +
        `"generation_config":{"max_new_tokens":2}}`;
      expect((await engine.runTask(utf8(text))).kind).to.equal("response");
    });
  });

  describe("work bound: the largest legal task has one size, checked before the model runs", function () {
    it(`max_new_tokens × max(num_beams, num_return_sequences) <= ${MAX_GENERATED_TOKENS}`, function () {
      const over = validateTask(task({ generation_config: { num_beams: 16, num_return_sequences: 16, max_new_tokens: 513 } }));
      expect(over).to.deep.equal({
        ok: false,
        message:
          "invalid task: $.generation_config.max_new_tokens: max_new_tokens × max(num_beams, num_return_sequences) = 513 × 16 " +
          `must be <= ${MAX_GENERATED_TOKENS} (the work bound of a task)`,
      });
      expect(validateTask(task({ generation_config: { num_beams: 16, num_return_sequences: 16, max_new_tokens: 512 } })).ok).to.equal(true);
      expect(validateTask(task({ generation_config: { do_sample: true, num_return_sequences: 8, max_new_tokens: 1024 } })).ok).to.equal(
        true,
      );
      expect(validateTask(task({ generation_config: { do_sample: true, num_return_sequences: 8, max_new_tokens: 1025 } })).ok).to.equal(
        false,
      );
      expect(validateTask(task({ generation_config: { max_new_tokens: MAX_GENERATED_TOKENS + 1 } })).ok).to.equal(false);
    });

    it("an over-budget task is an invalid_task result without running the model", async function () {
      const outcome = await run(engine, task({ generation_config: { do_sample: true, num_return_sequences: 16, max_new_tokens: 600 } }));
      expect(errorOf(outcome).code).to.equal("invalid_task");
      expect(errorOf(outcome).message).to.include("600 × 16 must be <= 8192");
      expect(outcome.metrics.inferenceSeconds).to.be.below(1);
    });

    describe(`a prompt over ${MAX_PROMPT_TOKENS} tokens, on a model whose context allows it`, function () {
      let models: Awaited<ReturnType<typeof longContextModels>>;
      let longContext: GptEngine;
      before(async function () {
        // stories260K's files with a 20000-token context: the bound, not the context, must refuse the prompt.
        models = await longContextModels("long-context", 20000);
        longContext = new GptEngine({ modelsDir: models.dir });
      });
      after(async () => {
        await longContext.close();
        await models.remove();
      });

      it("is context_length_exceeded naming the bound", async function () {
        // stories260K's tokenizer gives one token per letter without spaces: "<s>", "▁a", then 8999 × "a".
        const long = task({ model: "long-context", messages: [{ role: "user", content: "a".repeat(MAX_PROMPT_TOKENS + 1000) }] });
        expect(errorOf(await run(longContext, long))).to.deep.equal({
          code: "context_length_exceeded",
          message: `prompt (${MAX_PROMPT_TOKENS + 1001} tokens) exceeds the ${MAX_PROMPT_TOKENS} prompt tokens a task may have (the work bound of a task)`,
        });
      });
    });
  });

  it("a lone UTF-16 surrogate (legal JSON) is refused, not an engine fault on every node", async function () {
    const text = `{"model":"${MODEL}","messages":[{"role":"user","content":"ok"},{"role":"user","content":"x\\ud800y"}],"seed":1}`;
    expect(errorOf(await engine.runTask(utf8(text)))).to.deep.equal({
      code: "invalid_task",
      message: "invalid task: $.messages[1].content: must be well-formed Unicode (it has a lone surrogate such as \\ud800)",
    });
    const paired = `{"model":"${MODEL}","messages":[{"role":"user","content":"x\\ud83d\\udca9y"}],"seed":1,"generation_config":{"max_new_tokens":2}}`;
    expect((await engine.runTask(utf8(paired))).kind).to.equal("response");
  });

  describe("characters newer than the oldest supported runtime's Unicode are refused", function () {
    const document = (content: string) => utf8(JSON.stringify({ model: MODEL, messages: [{ role: "user", content }], seed: 1 }));

    it(`U+10940 (a letter since Unicode 17: \\p{L} on Node 22.23, unassigned on Node 22.13) is invalid_task`, async function () {
      expect(errorOf(await engine.runTask(document("Sidetic \u{10940}")))).to.deep.equal({
        code: "invalid_task",
        message: `invalid task: $.messages[0].content: U+10940 is not a character of Unicode ${UNICODE_VERSION} (newer characters read differently across runtimes)`,
      });
      expect(errorOf(await engine.runTask(document("\uffff"))).message).to.include("U+FFFF is not a character");
    });

    it("assigned characters pass, from every plane", function () {
      const text = "a\u00e9\u4e2d\u{1f4a9}\u{20000}\ue000\u{f0000}";
      expect(validateTask(task({ messages: [{ role: "user", content: text }] })).ok).to.equal(true);
    });

    it(`the table lists only code points this runtime (Unicode ${process.versions.unicode}) also knows as assigned or unassigned`, function () {
      // Every code point the table lets through must be assigned here too: the table is no newer than the runtime.
      const unassigned = /^\p{Cn}$/u;
      const tooNew: string[] = [];
      let range = 0; // the first range that does not end before cp
      for (let cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        while (2 * range < UNASSIGNED.length && UNASSIGNED[2 * range + 1]! < cp) range++;
        const listed = 2 * range < UNASSIGNED.length && UNASSIGNED[2 * range]! <= cp;
        if (!listed && unassigned.test(String.fromCodePoint(cp))) tooNew.push(cp.toString(16));
        if (tooNew.length > 3) break;
      }
      expect(tooNew).to.deep.equal([]);
    });
  });

  it("a seeded fuzz of the schema-valid space never makes the engine throw", async function () {
    this.timeout(120_000);
    const rng = Xoshiro256StarStar.forStream(20261203, 0);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(rng.nextUniform() * values.length)]!;
    const extremes = [5e-324, 1e-300, 1e-45, 1e-7, 0.5, 1, 2, 1e7, 3.5e38, 1e300, Number.MAX_VALUE];
    const texts = [
      "",
      " ",
      "\u0000",
      "e\u0301",
      "\u00e9",
      "\ufeffhi",
      "a\r\nb",
      "\u200b\u200d",
      "<s></s><unk>",
      "💩",
      "\uffff",
      "\u{10ffff}",
    ];
    const kinds = new Set<string>();
    for (let i = 0; i < 250; i++) {
      const generation_config: Record<string, unknown> = { max_new_tokens: 1 + Math.floor(rng.nextUniform() * 3) };
      const mode = pick(["greedy", "sample", "beam"]);
      if (mode === "beam") {
        generation_config.num_beams = 2 + Math.floor(rng.nextUniform() * 15);
        generation_config.num_return_sequences = 1 + Math.floor(rng.nextUniform() * (generation_config.num_beams as number));
      } else if (mode === "sample") {
        generation_config.do_sample = true;
        generation_config.num_return_sequences = 1 + Math.floor(rng.nextUniform() * 3);
      }
      for (const key of ["temperature", "repetition_penalty"]) if (rng.nextUniform() < 0.5) generation_config[key] = pick(extremes);
      for (const key of ["top_p", "typical_p"]) if (rng.nextUniform() < 0.5) generation_config[key] = Math.min(1, pick(extremes));
      if (rng.nextUniform() < 0.5) generation_config.top_k = pick([0, 1, 2, 511, 512, 513, 2 ** 31, Number.MAX_SAFE_INTEGER]);
      const messages = Array.from({ length: 1 + Math.floor(rng.nextUniform() * 3) }, () => ({
        role: pick(["system", "user", "assistant"] as const),
        content: pick(texts) + pick(texts),
      }));
      const t = { model: MODEL, messages, seed: Math.floor(rng.nextUniform() * Number.MAX_SAFE_INTEGER), generation_config };
      const outcome = await engine.runTask(encodeTask(t)); // rejects only with an EngineFault: the test fails then
      kinds.add(outcome.kind === "response" ? "response" : errorOf(outcome).code);
    }
    expect([...kinds]).to.include("response");
  });

  it("environment-sensitive text and number spellings give byte-identical results in two separate processes", async function () {
    this.timeout(120_000);
    const generation = `"generation_config":{"max_new_tokens":8,"do_sample":true,"top_k":0}`;
    const content = (text: string) =>
      `{"model":"${MODEL}","messages":[{"role":"user","content":${JSON.stringify(text)}}],"seed":7,${generation}}`;
    const documents = [
      content("Caf\u00e9 Tom"), // NFC
      content("Cafe\u0301 Tom"), // NFD: another prompt, the same on every node
      content("\ufeffOnce upon"), // a BOM inside the content (a BOM before the document is invalid_json)
      content("Once\r\nupon"),
      content("Once\u200b\u200dupon\u2028time"),
      content("a".repeat(400)), // one long "word"
      `${PREFIX},"seed":-0,${generation}}`,
      `${PREFIX},"seed":0,${generation}}`,
      `${PREFIX},"seed":7.0,${generation}}`,
      `${PREFIX},"seed":7e0,${generation}}`,
      `{${generation},"seed":7,"messages":[{"content":"Once upon a time","role":"user"}],"model":"${MODEL}"}`,
      `${PREFIX},"seed":9007199254740991,${generation}}`,
      `${PREFIX},"seed":9007199254740993,${generation}}`, // 2^53 + 1: parsed as 2^53, over the maximum
      `${PREFIX},"seed":1,"generation_config":{"temperature":1e400}}`, // Infinity is not a number for the schema
      `\ufeff${PREFIX},"seed":1}`,
      `${PREFIX},"seed":1,"extra":true}`,
    ].map(utf8);
    const here: string[] = [];
    for (const bytes of documents) here.push((await engine.runTask(bytes)).canonicalJson);
    const [first, second] = await Promise.all([runInNewProcess(documents), runInNewProcess(documents)]);
    expect(first).to.deep.equal(here);
    expect(second).to.deep.equal(here);
    // Equal values however they are spelled: -0 = 0, 7.0 = 7e0 = 7, key order does not matter.
    expect(here[6]).to.equal(here[7]);
    expect(here[8]).to.equal(here[9]);
    expect(here[10]).to.equal(here[8]);
    expect(here[0]).to.not.equal(here[1]);
    expect(JSON.parse(here[12]!).error.message).to.equal("invalid task: $.seed: must be <= 9007199254740991");
    expect(JSON.parse(here[13]!).error.message).to.equal("invalid task: $.generation_config.temperature: must be number");
    expect(JSON.parse(here[14]!).error).to.deep.equal({ code: "invalid_json", message: "task is not valid JSON" });
    expect(JSON.parse(here[15]!).error.message).to.equal("invalid task: $.extra: unknown field");
    expect(responseOf({ kind: "response", document: JSON.parse(here[5]!) } as TaskOutcome).choices).to.have.length(1);
  });
});
