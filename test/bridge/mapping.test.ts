import { expect } from "chai";
import { OpenAiError } from "../../worker/bridge/errors.js";
import { chunksFromCompletion, completionFromResponse, requestToTask } from "../../worker/bridge/mapping.js";

const base = { model: "stories260K", messages: [{ role: "user", content: "hi" }] };

function refusal(body: unknown): OpenAiError {
  try {
    requestToTask(body);
  } catch (error) {
    expect(error).to.be.instanceOf(OpenAiError);
    return error as OpenAiError;
  }
  throw new Error("the request was accepted");
}

describe("bridge: OpenAI request -> GPT task", function () {
  it("maps max_tokens, n, top_p, seed and the Triad extra fields", function () {
    const { task } = requestToTask({
      ...base,
      max_tokens: 12,
      n: 3,
      top_p: 0.9,
      seed: 42,
      temperature: 0.7,
      top_k: 5,
      typical_p: 0.8,
      repetition_penalty: 1.1,
      dtype: "float32",
      quantize_bits: 8,
    });
    expect(task).to.deep.equal({
      model: "stories260K",
      messages: [{ role: "user", content: "hi" }],
      seed: 42,
      generation_config: {
        max_new_tokens: 12,
        num_return_sequences: 3,
        top_p: 0.9,
        top_k: 5,
        typical_p: 0.8,
        repetition_penalty: 1.1,
        do_sample: true,
        temperature: 0.7,
      },
      dtype: "float32",
      quantize_bits: 8,
    });
  });

  it("prefers max_completion_tokens over max_tokens", function () {
    expect(requestToTask({ ...base, max_tokens: 5, max_completion_tokens: 9 }).task.generation_config?.max_new_tokens).to.equal(9);
  });

  it("samples by default like OpenAI (temperature 1, no top-k), greedy at temperature 0", function () {
    expect(requestToTask(base).task.generation_config).to.deep.equal({ do_sample: true, top_k: 0 });
    expect(requestToTask({ ...base, temperature: 0 }).task.generation_config).to.deep.equal({ do_sample: false });
  });

  it("takes explicit do_sample and beam search as given", function () {
    expect(requestToTask({ ...base, num_beams: 4 }).task.generation_config).to.deep.equal({ num_beams: 4, do_sample: false });
    expect(requestToTask({ ...base, do_sample: false, temperature: 0.5 }).task.generation_config).to.deep.equal({
      do_sample: false,
      temperature: 0.5,
    });
  });

  it("picks a fresh random seed when none is given and reports it", function () {
    const a = requestToTask(base);
    const b = requestToTask(base);
    expect(a.task.seed).to.equal(a.seed);
    expect(Number.isSafeInteger(a.seed) && a.seed >= 0).to.equal(true);
    expect(a.seed).to.not.equal(b.seed);
  });

  it("maps developer messages to system and joins text parts", function () {
    const { task } = requestToTask({
      model: "m",
      messages: [
        { role: "developer", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" },
          ],
        },
      ],
    });
    expect(task.messages).to.deep.equal([
      { role: "system", content: "be brief" },
      { role: "user", content: "ab" },
    ]);
  });

  it("refuses what it cannot honour, naming the parameter", function () {
    expect(refusal({ ...base, stop: ["\n"] }).param).to.equal("stop");
    expect(refusal({ ...base, tools: [{ type: "function" }] }).param).to.equal("tools");
    expect(refusal({ ...base, frequency_penalty: 0.5 }).param).to.equal("frequency_penalty");
    expect(refusal({ ...base, messages: [] }).param).to.equal("messages");
    expect(refusal({ ...base, messages: [{ role: "tool", content: "x" }] }).param).to.equal("messages[0].role");
    expect(refusal({ ...base, messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] }).param).to.equal(
      "messages[0].content",
    );
    expect(refusal({ ...base, stream_options: { include_usage: true } }).param).to.equal("stream_options");
    expect(refusal({ ...base, stream: "yes" }).param).to.equal("stream");
    expect(refusal([]).status).to.equal(400);
  });
});

describe("bridge: GPT response -> OpenAI completion and chunks", function () {
  const response = {
    model: "stories260K",
    choices: [
      { index: 0, message: { role: "assistant" as const, content: "one" }, finish_reason: "stop" as const },
      { index: 1, message: { role: "assistant" as const, content: "" }, finish_reason: "length" as const },
    ],
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  };
  const receipt = {
    task_id: "9",
    nodes: ["0x1", "0x2", "0x3"],
    args_hash: "0xa1",
    model_revision: "main",
    model_digest: `0x${"0123456789abcdef".repeat(4)}`,
    result_hash: "0xab",
    seed: 1,
    create_tx: "0xcd",
  };

  it("keeps choices, finish reasons and usage, and adds the receipt", function () {
    const completion = completionFromResponse(response, receipt, 1_700_000_000);
    expect(completion).to.deep.include({ id: "chatcmpl-triad-9", object: "chat.completion", created: 1_700_000_000, model: "stories260K" });
    expect(completion.choices[1]).to.deep.equal({
      index: 1,
      message: { role: "assistant", content: "", refusal: null },
      finish_reason: "length",
      logprobs: null,
    });
    expect(completion.usage).to.deep.equal(response.usage);
    expect(completion.triad).to.equal(receipt);
    expect(completion.system_fingerprint, "the model files' digest names the backend configuration").to.equal("fp_0123456789ab");
  });

  it("streams role, content and finish chunks per choice, then usage when asked", function () {
    const chunks = chunksFromCompletion(completionFromResponse(response, receipt, 1), true);
    expect(chunks.map((c) => [c.choices[0]?.index, c.choices[0]?.delta, c.choices[0]?.finish_reason])).to.deep.equal([
      [0, { role: "assistant", content: "" }, null],
      [0, { content: "one" }, null],
      [0, {}, "stop"],
      [1, { role: "assistant", content: "" }, null],
      [1, {}, "length"],
      [undefined, undefined, undefined],
    ]);
    expect(chunks.at(-1)!.usage).to.deep.equal(response.usage);
    expect(chunks.every((c) => c.system_fingerprint === "fp_0123456789ab")).to.equal(true);
    expect(chunksFromCompletion(completionFromResponse(response, receipt, 1), false).every((c) => !("usage" in c))).to.equal(true);
  });
});
