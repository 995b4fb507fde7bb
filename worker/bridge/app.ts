import { readFileSync } from "node:fs";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type pino from "pino";
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { InvalidTaskError } from "../client/submit.js";
import { encodeTask, hashBytes, validateTask } from "../engine/index.js";
import { quotaExceeded, type ApiAccounts, type ApiKeySpec } from "./accounts.js";
import { OpenAiError, invalidRequest } from "./errors.js";
import { chunksFromCompletion, requestToTask, type ChatCompletion } from "./mapping.js";
import type { TriadNetwork } from "./network.js";
import { registerExplorer, type SnapshotSource } from "../explorer/routes.js";
import { Preflight } from "./preflight.js";
import { RequestRunner, StillRunning } from "./requests.js";
import { SpendingCapError, keyIdOf, type RequestRecord } from "./store.js";

export interface BridgeAppOptions {
  network: TriadNetwork;
  accounts: ApiAccounts;
  /** Model ids served (GET /v1/models); a request for another model is a 404. */
  models: string[];
  /** Token wei paid per task. */
  fee: bigint;
  /** How long a request waits for consensus before the task is cancelled (if still queued) and 504 answered. */
  timeoutMs: number;
  /** Checks every limit before a fee is paid; default: the relay's size limit only. */
  preflight?: Preflight;
  /**
   * Longest time to receive a request's body (default 30 s); past it the connection is closed. The key is checked
   * after the body is read (so the rate limit counts wrong keys too), so this bounds what a trickled body holds.
   */
  bodyTimeoutMs?: number;
  /** Requests per minute per client address for requests without a valid API key (default 30). */
  unauthenticatedPerMinute?: number;
  /** The network explorer's data (GET /explorer and /v1/triad/network); without it the explorer is not served. */
  explorer?: SnapshotSource;
  logger?: pino.Logger;
}

declare module "fastify" {
  interface FastifyRequest {
    apiKey?: ApiKeySpec;
    authError?: OpenAiError;
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** Longest wait a GET for a request's answer may ask for (?wait=SECONDS). */
const MAX_GET_WAIT_SECONDS = 60;
const page = (name: string) => readFileSync(new URL(`./public/${name}`, import.meta.url), "utf8");

/** Fastify's own 4xx codes, as OpenAI-style codes (Fastify's names never reach a client). */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: "request_too_large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: "unsupported_media_type" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: "invalid_request" },
};

/** The OpenAI-compatible API over the Triad network, and the chat page. */
export async function buildBridgeApp(options: BridgeAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger | undefined,
    bodyLimit: MAX_BODY_BYTES,
    // Stop promptly: keep-alive and waiting connections are closed (a retry with the same Idempotency-Key resumes
    // the request on the next bridge), and requests arriving while closing get 503.
    forceCloseConnections: true,
    return503OnClosing: true,
    // Errors the router answers itself (a malformed percent-encoding, a path segment over 100 characters), in
    // OpenAI's format too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
      const answer = new OpenAiError(
        tooLong ? 414 : 400,
        "invalid_request_error",
        error.message,
        null,
        tooLong ? "url_too_long" : "invalid_url",
      );
      return reply.status(answer.status).header("x-should-retry", "false").send(answer.body());
    },
  });
  // JSON bodies are parsed here rather than by Fastify, whose errors say only "not valid JSON": this one names the
  // syntax error, refuses prototype-polluting keys and a nesting too deep to walk, each with its own message.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
  app.addHook("preParsing", async (request, _reply, payload) => {
    const timer = setTimeout(() => {
      request.log.info({ timeoutMs: bodyTimeoutMs }, "request body not received in time: connection closed");
      request.raw.destroy();
    }, bodyTimeoutMs);
    const stop = () => clearTimeout(timer);
    payload.once("end", stop);
    payload.once("close", stop);
    payload.once("error", stop);
    return payload;
  });
  const store = options.accounts.store;
  const preflight = options.preflight ?? new Preflight();
  const runner = new RequestRunner({ network: options.network, store, timeoutMs: options.timeoutMs, logger: options.logger });

  app.setErrorHandler((error, request, reply) => {
    const answer = toOpenAiError(error, request);
    if (answer.status >= 500 && !(error instanceof OpenAiError)) request.log.error({ err: error }, "bridge failure");
    return reply.status(answer.status).header("x-should-retry", String(answer.retryable)).send(answer.body());
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .header("x-should-retry", "false")
      .send(new OpenAiError(404, "invalid_request_error", `Unknown route ${request.method} ${request.url}`, null, "unknown_url").body()),
  );

  await app.register(rateLimit, {
    global: false,
    hook: "preHandler",
    timeWindow: 60_000,
    // Requests with a wrong or missing key are limited per client address, so guessing keys is rate limited too.
    keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.key}` : `ip:${request.ip}`),
    max: (request) => request.apiKey?.requestsPerMinute ?? options.unauthenticatedPerMinute ?? 30,
    errorResponseBuilder: (request) => rateLimited(request.apiKey),
  });

  // The key is resolved first and a failure answered only in the handler, after the rate limit counted the request.
  const identify = async (request: FastifyRequest) => {
    try {
      request.apiKey = options.accounts.authenticate(request.headers.authorization);
    } catch (error) {
      if (!(error instanceof OpenAiError)) throw error;
      request.authError = error;
    }
  };
  const requireKey = async (request: FastifyRequest) => {
    if (request.authError) throw request.authError;
  };
  const authenticated = { onRequest: identify, config: { rateLimit: {} } };

  if (options.explorer) registerExplorer(app, options.explorer);
  app.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").send(page("index.html")));
  app.get("/chat.js", async (_request, reply) => reply.type("text/javascript; charset=utf-8").send(page("chat.js")));
  app.get("/healthz", async () => ({ ok: true }));

  // The served models registered on chain (with their pinned revision), when the network can say.
  app.get("/v1/models", authenticated, async (request) => {
    await requireKey(request);
    const registered = await options.network.registeredModels?.();
    const revisions = new Map(registered?.map((m) => [m.id, m.revision]));
    const served = registered ? options.models.filter((id) => revisions.has(id)) : options.models;
    return {
      object: "list",
      data: served.map((id) => ({
        id,
        object: "model",
        created: 0,
        owned_by: "triad",
        ...(registered ? { revision: revisions.get(id) } : {}),
      })),
    };
  });

  app.post("/v1/chat/completions", authenticated, async (request, reply) => {
    await requireKey(request);
    const key = request.apiKey!;
    const keyId = keyIdOf(key.key);
    const idempotencyKey = parseIdempotencyKey(request.headers["idempotency-key"]);
    const mapped = requestToTask(request.body);
    const bodyHash = requestBodyHash(request.body);
    let record = idempotencyKey === null ? undefined : store.byIdempotencyKey(keyId, idempotencyKey);
    let fresh = false;
    if (record && record.bodyHash !== bodyHash) {
      throw new OpenAiError(
        422,
        "idempotency_error",
        `Idempotency-Key "${idempotencyKey}" was already used with a different request body (request ${record.requestId}); ` +
          `use a new key for a new request.`,
        null,
        "idempotency_key_reused",
      );
    }
    if (!record) {
      const { task, seed } = mapped;
      if (!options.models.includes(task.model)) {
        const message = `The model \`${task.model}\` does not exist or you do not have access to it.`;
        throw new OpenAiError(404, "invalid_request_error", message, "model", "model_not_found");
      }
      const validation = validateTask(task);
      if (!validation.ok) throw validationError(validation.message);
      await options.network.checkTask?.(task).catch((error: unknown) => {
        if (!(error instanceof InvalidTaskError)) throw error;
        const param = error.field?.replace(/^\$\./, "") ?? null;
        throw invalidRequest(
          error.message,
          param,
          param === "dtype" || param === "quantize_bits" ? "unsupported_variant" : "invalid_value",
        );
      });
      const bytes = encodeTask(task);
      await preflight.check(task, bytes);
      try {
        record = store.begin({
          keyId,
          idempotencyKey,
          bodyHash,
          taskJson: new TextDecoder().decode(bytes),
          argsHash: hashBytes(bytes),
          seed,
          feeWei: options.fee,
          capWei: key.spendingCapWei,
        });
        fresh = true;
      } catch (error) {
        if (error instanceof SpendingCapError) throw quotaExceeded(key, error.spentWei, options.fee);
        // Two requests raced with one new Idempotency-Key: the second joins the first.
        record = idempotencyKey === null ? undefined : store.byIdempotencyKey(keyId, idempotencyKey);
        if (!record || record.bodyHash !== bodyHash) throw error;
      }
    }
    reply.header("x-request-id", record.requestId);
    await runner.ensureTask(record.requestId, key, fresh);
    const completion = await runner.answer(record.requestId, key, options.timeoutMs, true);
    const body = request.body as { stream?: unknown; stream_options?: { include_usage?: boolean } };
    if (body.stream !== true) return completion;
    return sendStream(reply, completion, body.stream_options?.include_usage === true);
  });

  // The answer of an earlier request, after a disconnect, a timeout or a bridge restart: 200 with the completion
  // once the task has an outcome, 202 with its status while it runs. Only the key that made the request may read it.
  const retrieve = async (request: FastifyRequest, reply: FastifyReply, record: RequestRecord | undefined, what: string) => {
    await requireKey(request);
    if (!record || record.keyId !== keyIdOf(request.apiKey!.key)) {
      throw new OpenAiError(404, "invalid_request_error", `No ${what} made with this API key.`, null, "request_not_found");
    }
    reply.header("x-request-id", record.requestId);
    const wait = parseWait((request.query as { wait?: string }).wait);
    try {
      if (record.taskId === null && record.state === "refunded") {
        const message = `Request ${record.requestId} created no task (${record.outcome}); nothing was paid.`;
        throw new OpenAiError(502, "server_error", message, null, "upstream_error");
      }
      if (record.taskId === null) return reply.status(202).send(pendingStatus(await runner.ensureTask(record.requestId, undefined)));
      return await runner.answer(record.requestId, undefined, wait * 1000, false);
    } catch (error) {
      if (error instanceof StillRunning) return reply.status(202).send(pendingStatus(error.record));
      throw error;
    }
  };
  app.get<{ Params: { requestId: string } }>("/v1/triad/requests/:requestId", authenticated, async (request, reply) =>
    retrieve(request, reply, store.byRequestId(request.params.requestId), `request ${request.params.requestId}`),
  );
  app.get<{ Params: { taskId: string } }>("/v1/triad/tasks/:taskId", authenticated, async (request, reply) => {
    await requireKey(request);
    const text = request.params.taskId;
    if (!/^(0|[1-9][0-9]{0,76})$/.test(text)) throw invalidRequest(`task id must be a decimal integer, got "${text}"`, "task_id");
    return retrieve(request, reply, store.byTaskId(BigInt(text)), `task ${text}`);
  });

  return app;
}

/** Settles requests an earlier bridge process left open (in the background; errors are logged). */
export function recoverOpenRequests(app: FastifyInstance, options: BridgeAppOptions): Promise<void> {
  const { network, accounts, timeoutMs, logger } = options;
  const runner = new RequestRunner({ network, store: accounts.store, timeoutMs, logger });
  return runner.recover(options.timeoutMs).catch((error: unknown) => app.log.error({ err: error }, "request recovery failed"));
}

function pendingStatus(record: RequestRecord) {
  return {
    object: "triad.request",
    request_id: record.requestId,
    task_id: record.taskId === null ? null : String(record.taskId),
    status: record.taskId === null ? "submitting" : "running",
  };
}

/** The request's JSON; 400 `invalid_json` naming the problem (UTF-8, syntax, a `__proto__` or `constructor.prototype` key, depth). */
function parseJsonBody(bytes: Buffer): unknown {
  let text: string;
  try {
    // Fatal: invalid UTF-8 is refused, never turned into U+FFFD in a prompt that then says something else.
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidRequest("the request body is not valid UTF-8", null, "invalid_json");
  }
  try {
    return JSON.parse(text, (key, value: unknown) => {
      const pollutes =
        key === "__proto__" || (key === "constructor" && typeof value === "object" && value !== null && Object.hasOwn(value, "prototype"));
      if (pollutes) throw new ForbiddenKey(key === "__proto__" ? "__proto__" : "constructor.prototype");
      return value;
    });
  } catch (error) {
    if (error instanceof ForbiddenKey) {
      throw invalidRequest(
        `the request body contains the key "${error.key}", which is refused (prototype pollution)`,
        null,
        "invalid_json",
      );
    }
    if (error instanceof RangeError) throw invalidRequest("the request body is nested too deeply", null, "invalid_json");
    throw invalidRequest(`the request body is not valid JSON: ${(error as Error).message}`, null, "invalid_json");
  }
}

class ForbiddenKey extends Error {
  constructor(readonly key: string) {
    super(`forbidden key ${key}`);
  }
}

/** SHA-256 of the body's canonical JSON (RFC 8785): the same request, however its JSON is spaced or ordered. */
function requestBodyHash(body: unknown): string {
  let canonical: string | undefined;
  try {
    canonical = canonicalize(body);
  } catch {
    throw invalidRequest("the request body contains invalid Unicode (a lone UTF-16 surrogate)", null, "invalid_json");
  }
  return createHash("sha256")
    .update(canonical ?? "")
    .digest("hex");
}

function parseIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  if (typeof header !== "string" || !IDEMPOTENCY_KEY.test(header)) {
    const message = "the Idempotency-Key header must be 1 to 255 visible ASCII characters, sent once";
    throw invalidRequest(message, "Idempotency-Key", "invalid_idempotency_key");
  }
  return header;
}

function parseWait(text: string | undefined): number {
  if (text === undefined) return 0;
  const seconds = Number(text);
  if (!/^[0-9]+$/.test(text) || seconds > MAX_GET_WAIT_SECONDS) {
    throw invalidRequest(`wait must be whole seconds from 0 to ${MAX_GET_WAIT_SECONDS}, got "${text}"`, "wait");
  }
  return seconds;
}

function toOpenAiError(error: unknown, request: FastifyRequest): OpenAiError {
  if (error instanceof OpenAiError) return error;
  const { statusCode, code, message } = error as { statusCode?: number; code?: string; message?: string };
  if (statusCode === 429) return rateLimited(request.apiKey);
  if (statusCode === 503) {
    return new OpenAiError(503, "server_error", "The bridge is shutting down; retry shortly.", null, "unavailable", true);
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    const mapped = (code && FASTIFY_CODES[code]) || { status: statusCode, code: "invalid_request" };
    return new OpenAiError(mapped.status, "invalid_request_error", message ?? "invalid request", null, mapped.code);
  }
  return new OpenAiError(500, "server_error", "The bridge failed to process the request.", null, "internal_error");
}

/** Server-sent events in OpenAI's chunk format, sent at once: the content exists only once it is verified. */
function sendStream(reply: FastifyReply, completion: ChatCompletion, includeUsage: boolean): FastifyReply {
  const events = chunksFromCompletion(completion, includeUsage).map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`);
  events.push("data: [DONE]\n\n");
  return reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache").send(events.join(""));
}

/** OpenAI's parameter names for the task fields a validation message names. */
const OPENAI_PARAM: Record<string, string> = { max_new_tokens: "max_tokens", num_return_sequences: "n" };

function validationError(message: string): OpenAiError {
  const first = /\$\.(?:generation_config\.)?([A-Za-z_]+)/.exec(message)?.[1] ?? null;
  const readable = message.replace(
    /\$\.generation_config\.(max_new_tokens|num_return_sequences)/g,
    (_m, field: string) => `${OPENAI_PARAM[field]} (${field})`,
  );
  return invalidRequest(readable, first ? (OPENAI_PARAM[first] ?? first) : null);
}

function rateLimited(key: ApiKeySpec | undefined): OpenAiError {
  const limit = key ? `${key.requestsPerMinute} requests per minute for API key "${key.name}"` : "the request rate limit";
  return new OpenAiError(429, "rate_limit_error", `Rate limit reached: ${limit}. Try again later.`, null, "rate_limit_exceeded", true);
}
