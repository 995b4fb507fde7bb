import { expect } from "chai";
import OpenAI from "openai";
import { parseEther } from "ethers";
import { FEE, KEY, NODES, RESULT_HASH, apiFailure as failure, fakeBridge } from "./fake-network.js";

type Bridge = Awaited<ReturnType<typeof fakeBridge>>;
const messages = [{ role: "user" as const, content: "Once upon a time" }];

/** The official client, without retries (they would hide the status codes under test). */
function client(bridge: Bridge, apiKey = KEY.key): OpenAI {
  return new OpenAI({ apiKey, baseURL: bridge.baseURL, maxRetries: 0 });
}

describe("bridge: OpenAI-compatible API (official openai client, fake network)", function () {
  let bridge: Bridge;
  beforeEach(async () => (bridge = await fakeBridge()));
  afterEach(async () => bridge.app.close());

  it("answers a chat completion with the verified result and the task's receipt", async function () {
    const completion = await client(bridge).chat.completions.create({ model: "stories260K", messages, seed: 7, max_tokens: 16 });
    expect(completion.object).to.equal("chat.completion");
    expect(completion.model).to.equal("stories260K");
    expect(completion.choices).to.have.length(1);
    expect(completion.choices[0]!.message).to.include({ role: "assistant", content: "echo 0: Once upon a time" });
    expect(completion.choices[0]!.finish_reason).to.equal("length");
    expect(completion.usage).to.deep.equal({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
    const triad = (completion as unknown as { triad: Record<string, unknown> }).triad;
    expect(triad).to.deep.include({ task_id: "1", nodes: NODES, result_hash: RESULT_HASH, seed: 7 });
    expect(bridge.network.submitted[0]!.generation_config?.max_new_tokens).to.equal(16);
  });

  it("streams the verified answer as chat.completion.chunk events ending in [DONE]", async function () {
    const stream = await client(bridge).chat.completions.create({
      model: "stories260K",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    let role: string | undefined;
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      expect(chunk.object).to.equal("chat.completion.chunk");
      for (const choice of chunk.choices) {
        role ??= choice.delta.role ?? undefined;
        content += choice.delta.content ?? "";
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(role).to.equal("assistant");
    expect(content).to.equal("echo 0: Once upon a time");
    expect(finish).to.equal("length");
    expect(usage).to.deep.equal({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
  });

  it("returns n choices when sampling", async function () {
    const completion = await client(bridge).chat.completions.create({ model: "stories260K", messages, n: 2, temperature: 0.8 });
    expect(completion.choices.map((c) => c.index)).to.deep.equal([0, 1]);
    expect(bridge.network.submitted[0]!.generation_config).to.deep.include({ num_return_sequences: 2, do_sample: true, temperature: 0.8 });
  });

  it("lists the served models", async function () {
    const models = await client(bridge).models.list();
    expect(models.data.map((m) => m.id)).to.deep.equal(["stories260K"]);
  });

  it("rejects a missing or wrong API key with 401 in OpenAI's format", async function () {
    const wrong = await failure(client(bridge, "sk-not-a-key-at-all-000").chat.completions.create({ model: "stories260K", messages }));
    expect(wrong).to.be.instanceOf(OpenAI.AuthenticationError);
    expect(wrong.code).to.equal("invalid_api_key");
    const response = await fetch(`${bridge.url}/v1/chat/completions`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(response.status).to.equal(401);
    expect(((await response.json()) as { error: object }).error).to.include({ code: "missing_api_key", type: "invalid_request_error" });
    expect(bridge.network.submitted).to.deep.equal([]);
  });

  it("rejects parameters it cannot honour with 400 naming the parameter", async function () {
    const openai = client(bridge);
    const logprobs = await failure(openai.chat.completions.create({ model: "stories260K", messages, logprobs: true }));
    expect(logprobs).to.be.instanceOf(OpenAI.BadRequestError);
    expect(logprobs.param).to.equal("logprobs");
    const topP = await failure(openai.chat.completions.create({ model: "stories260K", messages, top_p: 0 }));
    expect(topP.param).to.equal("top_p");
    expect(topP.message).to.contain("top_p: must be > 0");
    const greedyN = await failure(openai.chat.completions.create({ model: "stories260K", messages, temperature: 0, n: 2 }));
    expect(greedyN.param).to.equal("n");
    const unknown = await failure(openai.chat.completions.create({ model: "stories260K", messages, frobnicate: 1 } as never));
    expect(unknown.param).to.equal("frobnicate");
    const model = await failure(openai.chat.completions.create({ model: "gpt-4o", messages }));
    expect(model.status).to.equal(404);
    expect(model.code).to.equal("model_not_found");
    expect(bridge.network.submitted, "nothing was paid for").to.deep.equal([]);
  });

  it("accepts neutral values of unsupported parameters and harmless fields", async function () {
    await client(bridge).chat.completions.create({
      model: "stories260K",
      messages,
      presence_penalty: 0,
      stop: null,
      user: "u1",
      metadata: { a: "b" },
    });
    expect(bridge.network.submitted).to.have.length(1);
  });

  it("answers 400 when the nodes agree the task is invalid, and 502 when they reach no consensus (fee refunded)", async function () {
    bridge.network.mode = "task-error";
    const invalid = await failure(client(bridge).chat.completions.create({ model: "stories260K", messages, max_tokens: 600 }));
    expect(invalid.status).to.equal(400);
    expect(invalid.message).to.contain("exceeds the model's context");
    bridge.network.mode = "abort";
    const aborted = await failure(client(bridge).chat.completions.create({ model: "stories260K", messages }));
    expect(aborted.status).to.equal(502);
    expect(aborted.code).to.equal("no_consensus");
    expect(bridge.accounts.spent(KEY), "the agreed error is paid; the aborted task is refunded").to.equal(FEE);
  });
});

describe("bridge: limits and timeouts", function () {
  let bridge: Bridge | undefined;
  afterEach(async () => bridge?.app.close());

  it("rate-limits per key with 429", async function () {
    const limited = { ...KEY, requestsPerMinute: 2 };
    bridge = await fakeBridge({ keys: [limited] });
    const openai = client(bridge);
    await openai.chat.completions.create({ model: "stories260K", messages });
    await openai.chat.completions.create({ model: "stories260K", messages });
    const third = await failure(openai.chat.completions.create({ model: "stories260K", messages }));
    expect(third).to.be.instanceOf(OpenAI.RateLimitError);
    expect(third.code).to.equal("rate_limit_exceeded");
    expect(bridge.network.submitted).to.have.length(2);
  });

  it("stops at the key's spending cap with 429 insufficient_quota", async function () {
    const capped = { ...KEY, spendingCapWei: parseEther("2") };
    bridge = await fakeBridge({ keys: [capped] });
    const openai = client(bridge);
    await openai.chat.completions.create({ model: "stories260K", messages });
    await openai.chat.completions.create({ model: "stories260K", messages });
    const third = await failure(openai.chat.completions.create({ model: "stories260K", messages }));
    expect(third.status).to.equal(429);
    expect(third.code).to.equal("insufficient_quota");
    expect(bridge.network.submitted).to.have.length(2);
  });

  it("times out with 504, cancels the queued task and refunds its fee", async function () {
    bridge = await fakeBridge({ timeoutMs: 200 });
    bridge.network.mode = "timeout";
    const timedOut = await failure(client(bridge).chat.completions.create({ model: "stories260K", messages }));
    expect(timedOut.status).to.equal(504);
    expect(timedOut.code).to.equal("upstream_timeout");
    expect(timedOut.message).to.contain("cancelled");
    expect(bridge.network.cancelled).to.deep.equal([1n]);
    expect(bridge.accounts.spent(KEY)).to.equal(0n);
  });

  it("times out with 504 saying the task already started, and keeps its fee charged", async function () {
    bridge = await fakeBridge({ timeoutMs: 200 });
    bridge.network.mode = "timeout";
    bridge.network.cancelOutcome = "started";
    const timedOut = await failure(client(bridge).chat.completions.create({ model: "stories260K", messages }));
    expect(timedOut.status).to.equal(504);
    expect(timedOut.code).to.equal("upstream_timeout");
    expect(timedOut.message).to.match(/task 1 \(request req_[0-9a-f]+\) is running/);
    expect(bridge.network.cancelled).to.deep.equal([1n]);
    expect(bridge.accounts.spent(KEY)).to.equal(FEE);
  });
});
