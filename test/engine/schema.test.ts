import { expect } from "chai";
import { after, before, describe, it } from "mocha";
import { mkdtemp, rm, symlink, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { GptEngine, encodeTask, hashBytes, validateTask, type TaskErrorDocument } from "../../worker/engine/index.js";
import { resolveGenerationConfig } from "../../worker/engine/generation-config.js";
import { chooseVariant } from "../../worker/engine/variants.js";
import { MODEL, modelDir, modelsDir, readModelJson, responseOf, run, task } from "./helpers.js";

function rejection(t: unknown): string {
  const result = validateTask(t);
  if (result.ok) throw new Error("expected the task to be rejected");
  return result.message;
}

function errorOf(outcome: { kind: string; document: unknown }): TaskErrorDocument["error"] {
  expect(outcome.kind).to.equal("error");
  return (outcome.document as TaskErrorDocument).error;
}

describe("engine: task schema and validation", function () {
  it("accepts the seed format's full example", function () {
    const seedExample = {
      model: "gpt2",
      messages: [{ role: "user", content: "I want to create a chat bot. Any suggestions?" }],
      generation_config: {
        max_new_tokens: 30,
        do_sample: true,
        num_beams: 1,
        temperature: 1.0,
        typical_p: 1.0,
        top_k: 20,
        top_p: 1.0,
        repetition_penalty: 1.0,
        num_return_sequences: 1,
      },
      seed: 42,
      dtype: "auto",
      quantize_bits: 4,
    };
    expect(validateTask(seedExample)).to.deep.equal({ ok: true, task: seedExample });
  });

  const cases: Array<[string, unknown, string]> = [
    ["not an object", [1, 2], "$: must be object"],
    ["model is required", { messages: [{ role: "user", content: "x" }], seed: 1 }, "$.model: is required"],
    ["seed is required", { model: MODEL, messages: [{ role: "user", content: "x" }] }, "$.seed: is required"],
    ["model id may not climb out of the models dir", task({ model: "../etc" }), "$.model: must be a HuggingFace model id"],
    ["model id has at most one slash", task({ model: "a/b/c" }), "$.model: must be a HuggingFace model id"],
    ["messages must not be empty", task({ messages: [] }), "$.messages: must NOT have fewer than 1 items"],
    [
      "role is one of three",
      task({ messages: [{ role: "tool" as never, content: "x" }] }),
      '$.messages[0].role: must be one of "system", "user", "assistant"',
    ],
    ["content is a string", task({ messages: [{ role: "user", content: 5 as never }] }), "$.messages[0].content: must be string"],
    [
      "unknown message field",
      task({ messages: [{ role: "user", content: "x", name: "n" } as never] }),
      "$.messages[0].name: unknown field",
    ],
    ["unknown top-level field", { ...task(), stream: true }, "$.stream: unknown field"],
    ["unknown generation field", task({ generation_config: { min_length: 3 } as never }), "$.generation_config.min_length: unknown field"],
    ["max_new_tokens >= 1", task({ generation_config: { max_new_tokens: 0 } }), "$.generation_config.max_new_tokens: must be >= 1"],
    [
      "max_new_tokens is an integer",
      task({ generation_config: { max_new_tokens: 2.5 } }),
      "$.generation_config.max_new_tokens: must be integer",
    ],
    [
      "do_sample is a boolean",
      task({ generation_config: { do_sample: "yes" as never } }),
      "$.generation_config.do_sample: must be boolean",
    ],
    ["num_beams >= 1", task({ generation_config: { num_beams: 0 } }), "$.generation_config.num_beams: must be >= 1"],
    ["num_beams <= 16", task({ generation_config: { num_beams: 17 } }), "$.generation_config.num_beams: must be <= 16"],
    ["temperature >= 0", task({ generation_config: { temperature: -1 } }), "$.generation_config.temperature: must be >= 0"],
    ["typical_p > 0", task({ generation_config: { typical_p: 0 } }), "$.generation_config.typical_p: must be > 0"],
    ["typical_p <= 1", task({ generation_config: { typical_p: 1.01 } }), "$.generation_config.typical_p: must be <= 1"],
    ["top_k is an integer", task({ generation_config: { top_k: 2.5 } }), "$.generation_config.top_k: must be integer"],
    ["top_k >= 0", task({ generation_config: { top_k: -1 } }), "$.generation_config.top_k: must be >= 0"],
    ["top_p > 0", task({ generation_config: { top_p: 0 } }), "$.generation_config.top_p: must be > 0"],
    ["top_p <= 1", task({ generation_config: { top_p: 1.5 } }), "$.generation_config.top_p: must be <= 1"],
    [
      "repetition_penalty > 0",
      task({ generation_config: { repetition_penalty: 0 } }),
      "$.generation_config.repetition_penalty: must be > 0",
    ],
    [
      "num_return_sequences >= 1",
      task({ generation_config: { num_return_sequences: 0 } }),
      "$.generation_config.num_return_sequences: must be >= 1",
    ],
    ["seed >= 0", task({ seed: -1 }), "$.seed: must be >= 0"],
    ["seed is an integer", task({ seed: 1.5 }), "$.seed: must be integer"],
    ["seed is a safe integer", task({ seed: 2 ** 53 }), "$.seed: must be <= 9007199254740991"],
    ["dtype enum", task({ dtype: "int8" as never }), '$.dtype: must be one of "float16", "bfloat16", "float32", "auto"'],
    ["quantize_bits enum", task({ quantize_bits: 2 as never }), "$.quantize_bits: must be one of 4, 8"],
    [
      "sampling needs temperature > 0",
      task({ generation_config: { do_sample: true, temperature: 0 } }),
      "$.generation_config.temperature: must be > 0 when do_sample is true",
    ],
    [
      "beam sampling is not supported",
      task({ generation_config: { do_sample: true, num_beams: 2 } }),
      "$.generation_config.num_beams: beam sampling",
    ],
    [
      "greedy returns one sequence",
      task({ generation_config: { num_return_sequences: 2 } }),
      "$.generation_config.num_return_sequences: greedy decoding returns exactly 1 sequence",
    ],
    [
      "beams >= returned sequences",
      task({ generation_config: { num_beams: 2, num_return_sequences: 3 } }),
      "$.generation_config.num_return_sequences: must be <= num_beams (2)",
    ],
  ];
  for (const [rule, input, expected] of cases) {
    it(`rejects: ${rule}`, function () {
      expect(rejection(input)).to.include(expected);
    });
  }

  it("lists every problem in one message, each with its path", function () {
    const message = rejection({
      model: MODEL,
      messages: [{ role: "robot", content: "x" }],
      generation_config: { top_p: 2, top_k: 1.5, num_beams: 2, num_return_sequences: 3 },
      seed: -5,
    });
    expect(message).to.match(/^invalid task: /);
    for (const path of [
      "$.messages[0].role",
      "$.generation_config.top_p",
      "$.generation_config.top_k",
      "$.seed",
      "$.generation_config.num_return_sequences",
    ]) {
      expect(message).to.include(path);
    }
    expect(message).not.to.match(/\n|at .*\.ts:/);
  });

  it("temperature 0 is allowed for greedy decoding (HF ignores it there)", function () {
    expect(validateTask(task({ generation_config: { temperature: 0 } })).ok).to.equal(true);
  });
});

describe("engine: defaults", function () {
  it("omitted settings come from the model's generation_config.json, then HF's defaults", function () {
    const resolved = resolveGenerationConfig({ top_p: 0.5 }, readModelJson("generation_config.json"), readModelJson("config.json"));
    expect(resolved).to.deep.equal({
      max_new_tokens: 256,
      do_sample: false,
      num_beams: 1,
      temperature: 1,
      typical_p: 1,
      top_k: 50,
      top_p: 0.5,
      repetition_penalty: 1,
      num_return_sequences: 1,
      length_penalty: 1,
      early_stopping: false,
      eos_token_ids: [1, 2],
    });
  });

  it("a model's own defaults (do_sample, top_k) apply when the task omits them", function () {
    const resolved = resolveGenerationConfig({}, { do_sample: true, top_k: 5, eos_token_id: 7 }, { eos_token_id: 2 });
    expect(resolved).to.include({ do_sample: true, top_k: 5 });
    expect(resolved.eos_token_ids).to.deep.equal([7]);
  });

  it("dtype / quantize_bits map to transformers.js variant files", function () {
    const config = readModelJson("config.json");
    expect(chooseVariant("auto", undefined, config)).to.deep.equal({ variant: "fp32", file: "onnx/model.onnx" });
    expect(chooseVariant("float16", undefined, config)).to.deep.equal({ variant: "fp16", file: "onnx/model_fp16.onnx" });
    expect(chooseVariant(undefined, 8, config)).to.deep.equal({ variant: "q8", file: "onnx/model_quantized.onnx" });
    expect(chooseVariant("float32", 4, config)).to.deep.equal({ variant: "q4", file: "onnx/model_q4.onnx" });
    expect(chooseVariant("float16", 4, config)).to.deep.equal({ variant: "q4f16", file: "onnx/model_q4f16.onnx" });
    expect(() => chooseVariant("bfloat16", undefined, config)).to.throw(/bfloat16 with no quantization has no ONNX variant/);
    expect(() => chooseVariant("float16", 8, config)).to.throw(/float16 with quantize_bits 8/);
    // An export naming its own variant (Llama 3.2's q4f16) is what `auto` loads; quantize_bits still maps by precision.
    const q4f16 = { "transformers.js_config": { dtype: "q4f16" } };
    expect(chooseVariant("auto", undefined, q4f16)).to.deep.equal({ variant: "q4f16", file: "onnx/model_q4f16.onnx" });
    expect(chooseVariant(undefined, 4, q4f16)).to.deep.equal({ variant: "q4f16", file: "onnx/model_q4f16.onnx" });
    expect(chooseVariant("auto", undefined, { torch_dtype: "float16" })).to.deep.equal({ variant: "fp16", file: "onnx/model_fp16.onnx" });
  });
});

describe("engine: task problems become deterministic error documents", function () {
  let engine: GptEngine;
  before(() => (engine = new GptEngine({ modelsDir })));
  after(() => engine.close());

  it("bytes that are not JSON", async function () {
    const outcome = await engine.runTask(new TextEncoder().encode("{ nope"));
    expect(errorOf(outcome)).to.deep.equal({ code: "invalid_json", message: "task is not valid JSON" });
    expect(outcome.canonicalJson).to.equal('{"error":{"code":"invalid_json","message":"task is not valid JSON"}}');
    expect(outcome.resultHash).to.equal(keccak256(toUtf8Bytes(outcome.canonicalJson)));
  });

  it("bytes that are not UTF-8", async function () {
    const outcome = await engine.runTask(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(errorOf(outcome).code).to.equal("invalid_json");
    expect(errorOf(outcome).message).to.equal("task is not valid UTF-8");
  });

  it("a schema violation", async function () {
    const outcome = await run(engine, task({ generation_config: { top_p: 1.5 } }));
    expect(errorOf(outcome)).to.deep.equal({ code: "invalid_task", message: "invalid task: $.generation_config.top_p: must be <= 1" });
  });

  it("a model missing from the models dir (remote loading off); the message has no path", async function () {
    const outcome = await run(engine, task({ model: "someone/missing-model" }));
    expect(errorOf(outcome)).to.deep.equal({
      code: "model_not_found",
      message: "model someone/missing-model is not available on this node",
    });
    expect(outcome.canonicalJson).not.to.include(modelsDir);
  });

  it("a dtype / quantization combination the model lacks", async function () {
    expect(errorOf(await run(engine, task({ dtype: "bfloat16" })))).to.deep.equal({
      code: "unsupported_variant",
      message: "dtype bfloat16 with no quantization has no ONNX variant",
    });
    expect(errorOf(await run(engine, task({ dtype: "float16", quantize_bits: 4 })))).to.deep.equal({
      code: "unsupported_variant",
      message: "model stories260K has no q4f16 ONNX variant (onnx/model_q4f16.onnx)",
    });
  });

  it("prompt + max_new_tokens over the model's context", async function () {
    const outcome = await run(engine, task({ generation_config: { max_new_tokens: 508 } }));
    expect(errorOf(outcome)).to.deep.equal({
      code: "context_length_exceeded",
      message: "prompt (5 tokens) + max_new_tokens (508) exceeds the model's context of 512 tokens",
    });
    expect((await run(engine, task({ generation_config: { max_new_tokens: 1 } }))).kind).to.equal("response");
  });

  it("the same problem gives byte-identical documents and hashes", async function () {
    const a = await run(engine, task({ seed: -3 }));
    const b = await run(engine, task({ seed: -3 }));
    expect(a.canonicalJson).to.equal(b.canonicalJson);
    expect(a.resultHash).to.equal(b.resultHash);
  });

  it("a model dir given by id with an org prefix is found", async function () {
    const dir = await mkdtemp(path.join(os.tmpdir(), "triad-models-"));
    try {
      await mkdir(path.join(dir, "karpathy"));
      await symlink(modelDir, path.join(dir, "karpathy", "stories260K"));
      const orgEngine = new GptEngine({ modelsDir: dir });
      const outcome = await run(orgEngine, task({ model: "karpathy/stories260K", generation_config: { max_new_tokens: 3 } }));
      expect(responseOf(outcome).model).to.equal("karpathy/stories260K");
      await orgEngine.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("engine: hashing", function () {
  it("encodeTask is RFC 8785 canonical and hashBytes is keccak256", function () {
    const bytes = encodeTask({ seed: 1, model: "m", messages: [{ role: "user", content: "é" }] });
    expect(new TextDecoder().decode(bytes)).to.equal('{"messages":[{"content":"é","role":"user"}],"model":"m","seed":1}');
    expect(hashBytes(bytes)).to.equal(keccak256(bytes));
  });

  it("the result hash covers exactly model, choices and usage (no provenance)", async function () {
    const engine = new GptEngine({ modelsDir });
    const outcome = await run(engine, task({ generation_config: { max_new_tokens: 4 } }));
    await engine.close();
    expect(Object.keys(JSON.parse(outcome.canonicalJson))).to.deep.equal(["choices", "model", "usage"]);
    expect(outcome.resultHash).to.equal(keccak256(toUtf8Bytes(outcome.canonicalJson)));
    expect(outcome.provenance).to.include({ intraOpThreads: 1, interOpThreads: 1, variant: "fp32", device: "cpu" });
    expect(outcome.provenance.modelSha256).to.equal(readModelJson("golden.json").fixture_sha256["onnx/model.onnx"]);
    expect(outcome.provenance.tokenizerSha256).to.equal(readModelJson("golden.json").fixture_sha256["tokenizer.json"]);
  });
});
