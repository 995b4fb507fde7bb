import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { parseEther } from "ethers";
import OpenAI from "openai";
import { defaultModelsDir } from "../../worker/paths.js";
import { longContextModels } from "../engine/helpers.js";
import { keyIdOf } from "../../worker/bridge/store.js";
import { FEE, FakeNetwork, KEY, apiFailure as failure, fakeBridge } from "./fake-network.js";

type Bridge = Awaited<ReturnType<typeof fakeBridge>>;
const messages = [{ role: "user" as const, content: "Once upon a time" }];
const request = { model: "stories260K", messages, max_tokens: 8 };

/** The official client with its default retries (2) and backoff: what applications use. */
function client(bridge: { baseURL: string }, maxRetries = 2): OpenAI {
  return new OpenAI({ apiKey: KEY.key, baseURL: bridge.baseURL, maxRetries });
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function post(bridge: Bridge, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${bridge.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY.key}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("bridge: idempotent requests (Idempotency-Key) and x-should-retry", function () {
  let bridge: Bridge;
  beforeEach(async () => (bridge = await fakeBridge()));
  afterEach(async () => bridge.app.close());

  it("answers a repeated Idempotency-Key with the same task and answer, paying once", async function () {
    const headers = { "Idempotency-Key": "order-17" };
    const first = await client(bridge).chat.completions.create(request, { headers });
    const second = await client(bridge).chat.completions.create(request, { headers });
    expect(bridge.network.submitted).to.have.length(1);
    expect(second).to.deep.equal(first);
    expect(bridge.accounts.spent(KEY)).to.equal(FEE);
  });

  it("refuses the same Idempotency-Key with another body with 422, not retryable, naming the first request", async function () {
    const first = await post(bridge, request, { "Idempotency-Key": "k-1" });
    expect(first.status).to.equal(200);
    const requestId = first.headers.get("x-request-id");
    expect(requestId).to.match(/^req_[0-9a-f]{24}$/);
    const reused = await post(bridge, { ...request, max_tokens: 9 }, { "Idempotency-Key": "k-1" });
    expect(reused.status).to.equal(422);
    expect(reused.headers.get("x-should-retry")).to.equal("false");
    const { error } = (await reused.json()) as { error: { code: string; message: string; type: string } };
    expect(error).to.include({ code: "idempotency_key_reused", type: "idempotency_error" });
    expect(error.message).to.contain(requestId!);
    expect(bridge.network.submitted).to.have.length(1);
  });

  it("joins concurrent requests with one Idempotency-Key to a single task", async function () {
    bridge.network.mode = "hold";
    const headers = { "Idempotency-Key": "same" };
    const answers = Promise.all([1, 2, 3].map(() => client(bridge).chat.completions.create(request, { headers })));
    await until(() => bridge.network.submitted.length === 1, "the task");
    await new Promise((resolve) => setTimeout(resolve, 100));
    bridge.network.release();
    const [a, b, c] = await answers;
    expect(b!.id).to.equal(a!.id);
    expect(c!.id).to.equal(a!.id);
    expect(bridge.network.submitted).to.have.length(1);
  });

  it("keys idempotency per API key: another key's Idempotency-Key is a different request", async function () {
    const other = { ...KEY, key: "sk-triad-test-key-0002", name: "other" };
    await bridge.app.close();
    bridge = await fakeBridge({ keys: [KEY, other] });
    const headers = { "Idempotency-Key": "shared-name" };
    await client(bridge).chat.completions.create(request, { headers });
    await new OpenAI({ apiKey: other.key, baseURL: bridge.baseURL }).chat.completions.create(request, { headers });
    expect(bridge.network.submitted).to.have.length(2);
  });

  it("sets x-should-retry on every error: true only where nothing was paid and a retry may help", async function () {
    const cases: Array<[Promise<Response>, number, string]> = [
      [post(bridge, { ...request, logprobs: true }), 400, "false"],
      [post(bridge, "{not json"), 400, "false"],
      [post(bridge, { ...request, model: "gpt-4o" }), 404, "false"],
      [
        fetch(`${bridge.url}/v1/chat/completions`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } }),
        401,
        "false",
      ],
    ];
    for (const [pending, status, retry] of cases) {
      const response = await pending;
      expect(response.status).to.equal(status);
      expect(response.headers.get("x-should-retry"), `status ${status}`).to.equal(retry);
    }
    bridge.network.failSubmissions = 1;
    const unpaid = await post(bridge, request);
    expect(unpaid.status).to.equal(502);
    expect(unpaid.headers.get("x-should-retry")).to.equal("true");
    expect(((await unpaid.json()) as { error: { code: string } }).error.code).to.equal("upstream_error");
    expect(bridge.accounts.spent(KEY), "a createTask that failed is not charged").to.equal(0n);
  });

  it("lets the official client's default retries recover a failed createTask without paying twice", async function () {
    bridge.network.failSubmissions = 1;
    const completion = await client(bridge).chat.completions.create(request);
    expect(completion.choices[0]!.message.content).to.equal("echo 0: Once upon a time");
    expect(bridge.network.submitted).to.have.length(1);
    expect(bridge.accounts.spent(KEY)).to.equal(FEE);
  });

  it("finds a task whose createTask landed although its receipt was lost, instead of paying again", async function () {
    bridge.network.loseReceipts = 1;
    const completion = await client(bridge).chat.completions.create(request, { headers: { "Idempotency-Key": "lost-receipt" } });
    expect((completion as unknown as { triad: { task_id: string } }).triad.task_id).to.equal("1");
    expect(bridge.network.submitted).to.have.length(1);
    expect(bridge.accounts.spent(KEY)).to.equal(FEE);
  });
});

describe("bridge: a 504 for a running task, and fetching its answer later", function () {
  let bridge: Bridge;
  afterEach(async () => bridge.app.close());

  it("answers 504 with x-should-retry false, so the official client's retries create no second task", async function () {
    bridge = await fakeBridge({ timeoutMs: 300 });
    bridge.network.mode = "hold";
    bridge.network.cancelOutcome = "started";
    const timedOut = await failure(client(bridge).chat.completions.create(request));
    expect(timedOut.status).to.equal(504);
    expect(timedOut.headers?.get("x-should-retry")).to.equal("false");
    expect(bridge.network.submitted, "the client did not retry").to.have.length(1);
    const requestId = timedOut.headers?.get("x-request-id");
    expect(timedOut.message)
      .to.contain("task 1")
      .and.to.contain(`GET /v1/triad/requests/${requestId}`)
      .and.to.contain("GET /v1/triad/tasks/1");

    const auth = { authorization: `Bearer ${KEY.key}` };
    const running = await fetch(`${bridge.url}/v1/triad/requests/${requestId}`, { headers: auth });
    expect(running.status).to.equal(202);
    expect(await running.json()).to.deep.equal({ object: "triad.request", request_id: requestId, task_id: "1", status: "running" });

    bridge.network.release();
    const byRequest = await fetch(`${bridge.url}/v1/triad/requests/${requestId}`, { headers: auth });
    expect(byRequest.status).to.equal(200);
    const completion = (await byRequest.json()) as {
      object: string;
      triad: { task_id: string };
      choices: Array<{ message: { content: string } }>;
    };
    expect(completion.object).to.equal("chat.completion");
    expect(completion.triad.task_id).to.equal("1");
    expect(completion.choices[0]!.message.content).to.equal("echo 0: Once upon a time");
    const byTask = await fetch(`${bridge.url}/v1/triad/tasks/1`, { headers: auth });
    expect(await byTask.json()).to.deep.equal(completion);
    expect(bridge.network.submitted).to.have.length(1);
    expect(bridge.accounts.spent(KEY)).to.equal(FEE);
  });

  it("answers a retry with the same Idempotency-Key after a 504 with the task's answer, not a new task", async function () {
    bridge = await fakeBridge({ timeoutMs: 300 });
    bridge.network.mode = "hold";
    bridge.network.cancelOutcome = "started";
    const headers = { "Idempotency-Key": "after-timeout" };
    await failure(client(bridge).chat.completions.create(request, { headers }));
    setTimeout(() => bridge.network.release(), 100);
    const completion = await client(bridge).chat.completions.create(request, { headers });
    expect((completion as unknown as { triad: { task_id: string } }).triad.task_id).to.equal("1");
    expect(bridge.network.submitted).to.have.length(1);
  });

  it("shows a request or task only to the API key that made it", async function () {
    const other = { ...KEY, key: "sk-triad-test-key-0002", name: "other" };
    bridge = await fakeBridge({ keys: [KEY, other] });
    await client(bridge).chat.completions.create(request);
    const foreign = await fetch(`${bridge.url}/v1/triad/tasks/1`, { headers: { authorization: `Bearer ${other.key}` } });
    expect(foreign.status).to.equal(404);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).to.equal("request_not_found");
  });
});

describe("bridge: restarts (state in SQLite)", function () {
  let dir: string;
  let bridges: Bridge[] = [];
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "triad-bridge-store-"))));
  afterEach(async () => {
    for (const bridge of bridges) await bridge.app.close().catch(() => undefined);
    bridges = [];
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (options: Parameters<typeof fakeBridge>[0]) => {
    const bridge = await fakeBridge({ storeFile: path.join(dir, "bridge.sqlite"), ...options });
    bridges.push(bridge);
    return bridge;
  };

  it("delivers a paid task's answer after the bridge stopped mid-request: the client's retry reaches the new bridge", async function () {
    const network = new FakeNetwork();
    network.mode = "hold";
    const first = await start({ network });
    const answer = client(first).chat.completions.create(request, { headers: { "Idempotency-Key": "across-restart" } });
    await until(() => network.submitted.length === 1, "the task");
    const stopping = Date.now();
    await first.app.close();
    expect(Date.now() - stopping, "closing does not wait for the open request").to.be.below(2_000);
    await start({ network, port: first.port });
    network.release();
    const completion = await answer;
    expect((completion as unknown as { triad: { task_id: string } }).triad.task_id).to.equal("1");
    expect(network.submitted, "one paid task").to.have.length(1);
  });

  it("keeps spending caps across restarts", async function () {
    const capped = { ...KEY, spendingCapWei: parseEther("2") };
    const network = new FakeNetwork();
    const first = await start({ network, keys: [capped] });
    await client(first).chat.completions.create(request);
    await client(first).chat.completions.create(request);
    await first.app.close();
    const second = await start({ network, keys: [capped] });
    expect(second.accounts.spent(capped)).to.equal(parseEther("2"));
    const refused = await failure(client(second).chat.completions.create(request));
    expect(refused.code).to.equal("insufficient_quota");
    expect(refused.headers?.get("x-should-retry")).to.equal("false");
    expect(network.submitted).to.have.length(2);
  });

  it("recovers requests a crashed bridge left open: finds the task it paid for, refunds one never created", async function () {
    const network = new FakeNetwork();
    const crashed = await start({ network });
    const keyId = keyIdOf(KEY.key);
    const task = { model: "stories260K", messages, seed: 1 };
    const { encodeTask, hashBytes } = await import("../../worker/engine/index.js");
    const bytes = encodeTask(task);
    const common = {
      keyId,
      bodyHash: "b",
      taskJson: new TextDecoder().decode(bytes),
      argsHash: hashBytes(bytes),
      seed: 1,
      feeWei: FEE,
      capWei: parseEther("100"),
    };
    // Crash 1: createTask was mined, the bridge died before recording it. Crash 2: it died before sending createTask.
    const paid = crashed.store.begin({ ...common, idempotencyKey: "paid" });
    await network.submit(task);
    const unpaid = crashed.store.begin({ ...common, idempotencyKey: "unpaid", argsHash: `0x${"00".repeat(32)}` });
    await crashed.app.close();

    const restarted = await start({ network });
    await restarted.recovered;
    expect(restarted.store.byRequestId(paid.requestId)).to.include({ state: "settled", taskId: 1n });
    expect(restarted.store.byRequestId(unpaid.requestId)).to.include({ state: "refunded", taskId: null });
    expect(restarted.accounts.spent(KEY), "only the paid task is charged").to.equal(FEE);
    expect(network.submitted).to.have.length(1);
  });
});

describe("bridge: every limit checked before paying", function () {
  let bridge: Bridge;
  afterEach(async () => bridge.app.close());

  it("refuses max_tokens beyond the model's context and an oversize prompt before any task is created", async function () {
    bridge = await fakeBridge({ modelsDir: defaultModelsDir() });
    const openai = client(bridge);
    const tooLong = await failure(openai.chat.completions.create({ ...request, max_tokens: 600 }));
    expect(tooLong.status).to.equal(400);
    expect(tooLong.code).to.equal("context_length_exceeded");
    expect(tooLong.param).to.equal("max_tokens");
    expect(tooLong.message).to.contain("maximum context length is 512 tokens");
    const longPrompt = await failure(
      openai.chat.completions.create({ ...request, messages: [{ role: "user", content: "word ".repeat(2_000) }] }),
    );
    expect(longPrompt.code).to.equal("context_length_exceeded");
    expect(longPrompt.param).to.equal("messages");
    const fits = await openai.chat.completions.create({ ...request, max_tokens: 100 });
    expect(fits.choices).to.have.length(1);
    expect(bridge.network.submitted, "only the request that fits was paid").to.have.length(1);
  });

  it("refuses a prompt over a task's 8192-token bound and n × max_tokens over the work bound before paying", async function () {
    // stories260K with a 20000-token context: the prompt fits the model but not the task bound.
    const models = await longContextModels("stories260K", 20000);
    try {
      bridge = await fakeBridge({ modelsDir: models.dir });
      const openai = client(bridge);
      const longPrompt = await failure(
        openai.chat.completions.create({ ...request, messages: [{ role: "user", content: "a".repeat(9000) }] }),
      );
      expect(longPrompt.status).to.equal(400);
      expect(longPrompt.code).to.equal("context_length_exceeded");
      expect(longPrompt.param).to.equal("messages");
      expect(longPrompt.message).to.contain("at most 8192 prompt tokens");
      const overBudget = await failure(openai.chat.completions.create({ ...request, n: 16, temperature: 1, max_tokens: 600 }));
      expect(overBudget.status).to.equal(400);
      expect(overBudget.message).to.contain("600 × 16 must be <= 8192");
      expect(bridge.network.submitted).to.deep.equal([]);
    } finally {
      await models.remove();
    }
  });

  it("refuses a request whose task exceeds the relay's 1 MiB before paying (413)", async function () {
    bridge = await fakeBridge();
    // Under the bridge's 1 MiB body limit, over the relay's once encoded: escaping makes each quote 2 bytes.
    const content = '"'.repeat(600_000);
    const response = await post(bridge, { ...request, messages: [{ role: "user", content }] });
    expect(response.status).to.equal(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).to.equal("request_too_large");
    expect(bridge.network.submitted).to.deep.equal([]);
  });
});

describe("bridge: hygiene", function () {
  let bridge: Bridge;
  afterEach(async () => bridge.app.close());

  it("closes promptly with an idle keep-alive connection open (SIGTERM does not wait for it)", async function () {
    bridge = await fakeBridge();
    const agent = new http.Agent({ keepAlive: true });
    const models = await new Promise<number>((resolve, reject) =>
      http
        .get(`${bridge.url}/v1/models`, { agent, headers: { authorization: `Bearer ${KEY.key}` } }, (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode ?? 0));
        })
        .on("error", reject),
    );
    expect(models).to.equal(200);
    expect(Object.keys(agent.freeSockets), "the connection is kept alive").to.have.length(1);
    const started = Date.now();
    await bridge.app.close();
    expect(Date.now() - started).to.be.below(1_000);
    agent.destroy();
  });

  it("answers a lone surrogate with 400 naming the message, before paying", async function () {
    bridge = await fakeBridge();
    const response = await post(bridge, `{"model":"stories260K","messages":[{"role":"user","content":"a\\ud800b"}]}`);
    expect(response.status).to.equal(400);
    const { error } = (await response.json()) as { error: { param: string; message: string } };
    expect(error.param).to.equal("messages[0].content");
    expect(error.message).to.contain("lone UTF-16 surrogate");
    expect(bridge.network.submitted).to.deep.equal([]);
  });

  it("never leaks Fastify's error codes: bad JSON, wrong content type and an oversize body get OpenAI-style codes", async function () {
    bridge = await fakeBridge();
    const answers = [
      await post(bridge, "{"),
      await fetch(`${bridge.url}/v1/chat/completions`, {
        method: "POST",
        body: "x",
        headers: { authorization: `Bearer ${KEY.key}`, "content-type": "application/xml" },
      }),
      await post(bridge, { ...request, messages: [{ role: "user", content: "x".repeat(1_100_000) }] }),
    ];
    const codes = [];
    for (const answer of answers) {
      const text = await answer.text();
      expect(text).not.to.contain("FST_");
      codes.push([answer.status, (JSON.parse(text) as { error: { code: string } }).error.code]);
    }
    expect(codes).to.deep.equal([
      [400, "invalid_json"],
      [415, "unsupported_media_type"],
      [413, "request_too_large"],
    ]);
  });

  it("rate-limits requests with a wrong API key per client address", async function () {
    bridge = await fakeBridge({ unauthenticatedPerMinute: 3 });
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${bridge.url}/v1/models`, { headers: { authorization: `Bearer sk-guess-${i}-0000000000` } });
      statuses.push(response.status);
    }
    expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
    const limited = await fetch(`${bridge.url}/v1/models`, { headers: { authorization: "Bearer sk-guess-x-0000000000" } });
    expect(limited.headers.get("x-should-retry"), "a rate limit is worth retrying later").to.equal("true");
    expect(((await limited.json()) as { error: { code: string } }).error.code).to.equal("rate_limit_exceeded");
  });
});
