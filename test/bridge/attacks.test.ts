import net from "node:net";
import { expect } from "chai";
import { defaultModelsDir } from "../../worker/paths.js";
import { FEE, KEY, fakeBridge } from "./fake-network.js";

type Bridge = Awaited<ReturnType<typeof fakeBridge>>;
const messages = [{ role: "user", content: "Once upon a time" }];
const request = { model: "stories260K", messages, max_tokens: 8 };
const OTHER = { ...KEY, key: "sk-triad-test-key-0002", name: "other" };

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function post(bridge: Bridge, body: unknown, headers: Record<string, string> = {}, apiKey = KEY.key) {
  return fetch(`${bridge.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

function get(bridge: Bridge, path: string, apiKey = KEY.key) {
  return fetch(`${bridge.url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
}

/** The response must be an OpenAI-style error with this status and code; returns its error. */
async function refused(response: Response, status: number, code: string): Promise<ErrorBody["error"]> {
  const text = await response.text();
  expect(response.status, text).to.equal(status);
  const { error } = JSON.parse(text) as ErrorBody;
  expect(error.code).to.equal(code);
  expect(error.message).to.be.a("string").and.not.empty;
  expect(error.type).to.be.a("string");
  return error;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Attacks on the bridge, each against a real bridge on a loopback port over the fake network. */
describe("bridge: attacks and their defences", function () {
  let bridge: Bridge;
  afterEach(async () => bridge?.app.close());

  it("another API key reusing an Idempotency-Key: gets its own task, never reads or hijacks the first key's", async function () {
    bridge = await fakeBridge({ keys: [KEY, OTHER] });
    const headers = { "Idempotency-Key": "shared-key-1" };
    const mine = await post(bridge, request, headers);
    expect(mine.status).to.equal(200);
    const myRequestId = mine.headers.get("x-request-id")!;
    const myTask = ((await mine.json()) as { triad: { task_id: string } }).triad.task_id;
    // Same key and same body from another API key: its own paid task, not my answer.
    const copy = await post(bridge, request, headers, OTHER.key);
    expect(((await copy.json()) as { triad: { task_id: string } }).triad.task_id).not.to.equal(myTask);
    // Same key, other body, other API key: refused about its own request only, never naming mine.
    const reused = await refused(await post(bridge, { ...request, max_tokens: 3 }, headers, OTHER.key), 422, "idempotency_key_reused");
    expect(reused.message).to.contain(copy.headers.get("x-request-id")!).and.not.to.contain(myRequestId);
    const again = await post(bridge, request, headers);
    expect(((await again.json()) as { triad: { task_id: string } }).triad.task_id).to.equal(myTask);
    expect(bridge.network.submitted).to.have.length(2);
    expect(bridge.accounts.spent(KEY)).to.equal(FEE);
  });

  it("reading another key's request or task by id: 404 request_not_found that reveals nothing of it", async function () {
    bridge = await fakeBridge({ keys: [KEY, OTHER] });
    const mine = await post(bridge, request);
    const requestId = mine.headers.get("x-request-id")!;
    for (const path of [`/v1/triad/requests/${requestId}`, "/v1/triad/tasks/1", `/v1/triad/requests/${requestId}?wait=1`]) {
      const error = await refused(await get(bridge, path, OTHER.key), 404, "request_not_found");
      expect(error.message).not.to.contain("Once upon");
      expect(error.message).not.to.match(/task 1\b.*running|answered/);
    }
    expect((await get(bridge, `/v1/triad/requests/${requestId}`)).status).to.equal(200);
  });

  it("SQL injection through request id, task id and Idempotency-Key: taken as literal values; malformed URLs: 400 / 414", async function () {
    bridge = await fakeBridge();
    expect((await post(bridge, request)).status).to.equal(200);
    await refused(await get(bridge, "/v1/triad/requests/'%20OR%20'1'='1"), 404, "request_not_found");
    await refused(await get(bridge, "/v1/triad/requests/req_x'%3BDROP%20TABLE%20requests%3B--"), 404, "request_not_found");
    const taskId = await refused(await get(bridge, "/v1/triad/tasks/1%20OR%201=1"), 400, "invalid_value");
    expect(taskId.param).to.equal("task_id");
    const key = { "Idempotency-Key": "x'OR'1'='1';DROP/**/TABLE/**/requests;--" };
    expect((await post(bridge, { ...request, max_tokens: 9 }, key)).status).to.equal(200);
    await refused(await post(bridge, { ...request, max_tokens: 10 }, key), 422, "idempotency_key_reused");
    expect((await get(bridge, "/v1/triad/tasks/1")).status, "the first request is still there").to.equal(200);
    expect(bridge.network.submitted).to.have.length(2);
    // What the router refuses before any route runs is answered in OpenAI's format too.
    await refused(await get(bridge, `/v1/triad/tasks/${"9".repeat(200)}`), 414, "url_too_long");
    await refused(await get(bridge, "/v1/triad/requests/%E0%A4%A"), 400, "invalid_url");
  });

  it("two parallel requests under a spending cap that allows one: one answered, one 429 insufficient_quota", async function () {
    bridge = await fakeBridge({ keys: [{ ...KEY, spendingCapWei: FEE }] });
    bridge.network.mode = "hold";
    const both = Promise.all([post(bridge, request), post(bridge, { ...request, max_tokens: 9 })]);
    await until(() => bridge.network.submitted.length === 1, "one task");
    await new Promise((resolve) => setTimeout(resolve, 100));
    bridge.network.release();
    const statuses = (await both).map((response) => response.status).sort();
    expect(statuses).to.deep.equal([200, 429]);
    const limited = (await both).find((response) => response.status === 429)!;
    expect(((await limited.json()) as ErrorBody).error.code).to.equal("insufficient_quota");
    expect(bridge.network.submitted).to.have.length(1);
    expect(bridge.accounts.spent(KEY)).to.equal(FEE);
  });

  it("huge or malformed n, max_tokens and seed: 400 naming the parameter, nothing paid", async function () {
    bridge = await fakeBridge({ modelsDir: defaultModelsDir() });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ n: 100_000 }, "n"],
      [{ n: "2" }, "n"],
      [{ max_tokens: -1 }, "max_tokens"],
      [{ max_tokens: 1.5 }, "max_tokens"],
      [{ max_tokens: 1e300 }, "max_tokens"],
      [{ max_completion_tokens: 10_000_000 }, "max_tokens"],
      [{ seed: 1e300 }, "seed"],
      [{ seed: -5 }, "seed"],
      [{ temperature: "hot" }, "temperature"],
    ];
    for (const [fields, param] of cases) {
      const response = await post(bridge, { ...request, ...fields });
      const text = await response.text();
      expect(response.status, `${JSON.stringify(fields)}: ${text}`).to.equal(400);
      expect((JSON.parse(text) as ErrorBody).error.param, JSON.stringify(fields)).to.equal(param);
    }
    expect(bridge.network.submitted).to.have.length(0);
  });

  it("too many messages or too much content: 400 / 413 before paying", async function () {
    bridge = await fakeBridge();
    const many = Array.from({ length: 257 }, () => ({ role: "user", content: "x" }));
    expect((await refused(await post(bridge, { ...request, messages: many }), 400, "invalid_value")).param).to.equal("messages");
    const flood = Array.from({ length: 60_000 }, () => ({ role: "user", content: "x" }));
    await refused(await post(bridge, { ...request, messages: flood }), 413, "request_too_large");
    await refused(
      await post(bridge, { ...request, messages: [{ role: "user", content: "y".repeat(1_100_000) }] }),
      413,
      "request_too_large",
    );
    expect(bridge.network.submitted).to.have.length(0);
  });

  it("content as parts: text parts are joined; images, extra part keys and non-text content are refused naming the message", async function () {
    bridge = await fakeBridge();
    const parts = [
      { type: "text", text: "Once " },
      { type: "text", text: "upon" },
    ];
    expect((await post(bridge, { ...request, messages: [{ role: "user", content: parts }] })).status).to.equal(200);
    expect(bridge.network.submitted[0]!.messages[0]!.content).to.equal("Once upon");
    const refusedContents: unknown[] = [
      [{ type: "image_url", image_url: { url: "http://x" } }],
      [{ type: "text", text: "a", cache_control: { type: "ephemeral" } }],
      [{ type: "text", text: 5 }],
      null,
      42,
      { type: "text", text: "a" },
    ];
    for (const content of refusedContents) {
      const error = await refused(await post(bridge, { ...request, messages: [{ role: "user", content }] }), 400, "invalid_value");
      expect(error.param, JSON.stringify(content)).to.equal("messages[0].content");
    }
    expect(bridge.network.submitted).to.have.length(1);
  });

  it("prototype pollution keys (__proto__, constructor.prototype) anywhere: 400 invalid_json naming the key; constructor or toString: unknown", async function () {
    bridge = await fakeBridge();
    const bodies = [
      '{"model":"stories260K","messages":[{"role":"user","content":"x"}],"__proto__":{"polluted":true}}',
      '{"model":"stories260K","messages":[{"role":"user","content":"x","__proto__":{"role":"system"}}]}',
      '{"model":"stories260K","messages":[{"role":"user","content":"x"}],"metadata":{"constructor":{"prototype":{"polluted":"y"}}}}',
    ];
    for (const body of bodies) {
      const error = await refused(await post(bridge, body), 400, "invalid_json");
      expect(error.message).to.match(/__proto__|constructor\.prototype/);
    }
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    // Plain keys named like Object.prototype's members are unknown fields, not defaults found on the prototype.
    for (const name of ["constructor", "toString", "hasOwnProperty"]) {
      for (const value of [1, null]) {
        const body = `{"model":"stories260K","messages":[{"role":"user","content":"x"}],"${name}":${value}}`;
        expect((await refused(await post(bridge, body), 400, "unknown_parameter")).param).to.equal(name);
      }
    }
    expect(bridge.network.submitted).to.have.length(0);
  });

  it("deep nesting (in the body or in an ignored field like metadata or user): 400, and the bridge keeps serving", async function () {
    bridge = await fakeBridge();
    const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    await refused(await post(bridge, deep(400_000)), 400, "invalid_json");
    const inMetadata = `{"model":"stories260K","messages":[{"role":"user","content":"x"}],"metadata":${deep(2_000)}}`;
    expect((await refused(await post(bridge, inMetadata), 400, "invalid_value")).param).to.equal("metadata");
    const inUser = `{"model":"stories260K","messages":[{"role":"user","content":"x"}],"user":{"a":${deep(2_000)}}}`;
    expect((await refused(await post(bridge, inUser), 400, "invalid_value")).param).to.equal("user");
    const badOptions = await refused(await post(bridge, { ...request, stream: true, stream_options: "yes" }), 400, "invalid_value");
    expect(badOptions.param).to.equal("stream_options");
    expect(bridge.network.submitted).to.have.length(0);
    expect((await post(bridge, { ...request, user: "u", metadata: { a: "b" }, store: false })).status).to.equal(200);
  });

  it("lone surrogates are refused; NUL bytes and other valid Unicode reach the task exactly as sent", async function () {
    bridge = await fakeBridge();
    const surrogate = '{"model":"stories260K","messages":[{"role":"user","content":"a\\ud800b"}]}';
    expect((await refused(await post(bridge, surrogate), 400, "invalid_value")).param).to.equal("messages[0].content");
    const text = "a\u0000b \u{1F600} \u202e";
    expect((await post(bridge, { ...request, messages: [{ role: "user", content: text }] })).status).to.equal(200);
    expect(bridge.network.submitted).to.have.length(1);
    expect(bridge.network.submitted[0]!.messages[0]!.content).to.equal(text);
  });

  it("invalid UTF-8 in the body: 400 invalid_json, never a prompt with replacement characters", async function () {
    bridge = await fakeBridge();
    const prefix = Buffer.from('{"model":"stories260K","messages":[{"role":"user","content":"a');
    const body = Buffer.concat([prefix, Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    const error = await refused(await post(bridge, new Uint8Array(body)), 400, "invalid_json");
    expect(error.message).to.contain("UTF-8");
    expect(bridge.network.submitted).to.have.length(0);
  });

  it("unknown fields, in the body or in a message (name, tool_calls, junk): refused naming the field, never dropped", async function () {
    bridge = await fakeBridge();
    const cases: Array<[unknown, string, string]> = [
      [{ ...request, best_of: 3 }, "best_of", "unknown_parameter"],
      [{ ...request, messages: [{ role: "user", content: "x", name: "alice" }] }, "messages[0].name", "unsupported_parameter"],
      [
        {
          ...request,
          messages: [
            { role: "assistant", content: "x", tool_calls: [{ id: "c" }] },
            { role: "user", content: "y" },
          ],
        },
        "messages[0].tool_calls",
        "unsupported_parameter",
      ],
      [{ ...request, messages: [{ role: "user", content: "x", weight: 2 }] }, "messages[0].weight", "unknown_parameter"],
    ];
    for (const [body, param, code] of cases) expect((await refused(await post(bridge, body), 400, code)).param).to.equal(param);
    expect(bridge.network.submitted).to.have.length(0);
    // An earlier answer's message sent back as history, as the official clients do, is accepted.
    const echoed = { role: "assistant", content: "echo", refusal: null, tool_calls: [], annotations: [] };
    expect((await post(bridge, { ...request, messages: [...messages, echoed, { role: "user", content: "more" }] })).status).to.equal(200);
  });

  it("stream dropped mid-wait by the client: nothing paid twice, the retry and GET by request id get the answer", async function () {
    bridge = await fakeBridge();
    bridge.network.mode = "hold";
    const headers = { "Idempotency-Key": "stream-drop-1" };
    const controller = new AbortController();
    const dropped = fetch(`${bridge.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY.key}`, "content-type": "application/json", ...headers },
      body: JSON.stringify({ ...request, stream: true }),
      signal: controller.signal,
    }).catch((error: Error) => error);
    await until(() => bridge.network.submitted.length === 1, "the paid task");
    controller.abort();
    expect(await dropped).to.be.instanceOf(Error);
    bridge.network.release();
    const retry = await post(bridge, { ...request, stream: true }, headers);
    expect(retry.status).to.equal(200);
    const events = await retry.text();
    expect(events).to.contain("echo 0: Once upon a time").and.to.contain("data: [DONE]");
    const byId = await get(bridge, `/v1/triad/requests/${retry.headers.get("x-request-id")}`);
    expect(((await byId.json()) as { triad: { task_id: string } }).triad.task_id).to.equal("1");
    expect(bridge.network.submitted).to.have.length(1);
    expect(bridge.accounts.spent(KEY)).to.equal(FEE);
  });

  it("API key guessing (prefix, one character off, other case, padding): 401 each, then rate limited per address", async function () {
    bridge = await fakeBridge({ unauthenticatedPerMinute: 5 });
    const guesses = [KEY.key.slice(0, -1), `${KEY.key.slice(0, -1)}2`, KEY.key.toUpperCase(), `${KEY.key}%20`, `${KEY.key}x`];
    for (const guess of guesses) await refused(await get(bridge, "/v1/models", guess), 401, "invalid_api_key");
    await refused(await get(bridge, "/v1/models", KEY.key.slice(0, -2)), 429, "rate_limit_exceeded");
    expect((await get(bridge, "/v1/models")).status, "the right key is still served").to.equal(200);
  });

  it("slow body (headers sent, body stalled, no valid key needed): connection closed after the body timeout", async function () {
    bridge = await fakeBridge({ bodyTimeoutMs: 1_000 });
    const head =
      "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-wrong-0000000000\r\n" +
      "content-type: application/json\r\ncontent-length: 100000\r\n\r\n";
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(bridge.port, "127.0.0.1");
      let received = "";
      socket.on("data", (chunk) => (received += chunk.toString("latin1")));
      socket.on("close", () => resolve(received));
      socket.on("error", reject);
      socket.write(`${head}{"model":"stories260K",`);
    });
    expect(answer, "no answer: the connection is closed").to.equal("");
    expect(Date.now() - started).to.be.within(900, 5_000);
    expect((await post(bridge, request)).status, "and the bridge keeps serving").to.equal(200);
  });
});
