import { readFileSync } from "node:fs";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type pino from "pino";
import { TaskTimeoutError, type TaskResult } from "../client/result.js";
import { validateTask } from "../engine/index.js";
import type { ApiAccounts, ApiKeySpec } from "./accounts.js";
import { OpenAiError, invalidRequest } from "./errors.js";
import { chunksFromCompletion, completionFromResponse, isTaskError, requestToTask, type ChatCompletion } from "./mapping.js";
import type { BridgeSubmission, TriadNetwork } from "./network.js";

export interface BridgeAppOptions {
  network: TriadNetwork;
  accounts: ApiAccounts;
  /** Model ids served (GET /v1/models); a request for another model is a 404. */
  models: string[];
  /** Token wei paid per task. */
  fee: bigint;
  /** How long a request waits for consensus before the task is cancelled (if still queued) and 504 answered. */
  timeoutMs: number;
  logger?: pino.Logger;
}

declare module "fastify" {
  interface FastifyRequest {
    apiKey?: ApiKeySpec;
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
const page = (name: string) => readFileSync(new URL(`./public/${name}`, import.meta.url), "utf8");

/** The OpenAI-compatible API over the Triad network, and the chat page. */
export async function buildBridgeApp(options: BridgeAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: options.logger as FastifyBaseLogger | undefined, bodyLimit: MAX_BODY_BYTES });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof OpenAiError) return reply.status(error.status).send(error.body());
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 429) return reply.status(429).send(rateLimited(request.apiKey).body());
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send(invalidRequest((error as Error).message, null, (error as { code?: string }).code ?? null).body());
    }
    request.log.error({ err: error }, "bridge failure");
    return reply.status(500).send(new OpenAiError(500, "server_error", "The bridge failed to process the request.", null, "internal_error").body());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(new OpenAiError(404, "invalid_request_error", `Unknown route ${request.method} ${request.url}`, null, "unknown_url").body()),
  );

  await app.register(rateLimit, {
    global: false,
    hook: "preHandler",
    timeWindow: 60_000,
    keyGenerator: (request) => request.apiKey?.key ?? request.ip,
    max: (request) => request.apiKey?.requestsPerMinute ?? 60,
    errorResponseBuilder: (request) => rateLimited(request.apiKey),
  });

  const authenticate = async (request: FastifyRequest) => {
    request.apiKey = options.accounts.authenticate(request.headers.authorization);
  };

  app.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").send(page("index.html")));
  app.get("/chat.js", async (_request, reply) => reply.type("text/javascript; charset=utf-8").send(page("chat.js")));
  app.get("/healthz", async () => ({ ok: true }));

  // The served models registered on chain (with their pinned revision), when the network can say.
  app.get("/v1/models", { onRequest: authenticate }, async () => {
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

  app.post("/v1/chat/completions", { onRequest: authenticate, config: { rateLimit: {} } }, async (request, reply) => {
    const key = request.apiKey!;
    const { task, seed } = requestToTask(request.body);
    if (!options.models.includes(task.model)) {
      throw new OpenAiError(404, "invalid_request_error", `The model \`${task.model}\` does not exist or you do not have access to it.`, "model", "model_not_found");
    }
    const validation = validateTask(task);
    if (!validation.ok) throw validationError(validation.message);

    options.accounts.charge(key, options.fee);
    let submitted: BridgeSubmission;
    try {
      submitted = await options.network.submit(task);
    } catch (error) {
      options.accounts.refund(key, options.fee);
      throw new OpenAiError(502, "server_error", `Could not create the task on the network: ${(error as Error).message}`, null, "upstream_error");
    }
    const completion = await verifiedCompletion(options, key, submitted, seed);
    const stream = (request.body as { stream?: unknown }).stream === true;
    if (!stream) return completion;
    return sendStream(reply, completion, (request.body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage === true);
  });

  return app;
}

async function verifiedCompletion(
  options: BridgeAppOptions,
  key: ApiKeySpec,
  submitted: BridgeSubmission,
  seed: number,
): Promise<ChatCompletion> {
  const { taskId } = submitted;
  let result: TaskResult;
  try {
    result = await options.network.result(taskId, options.timeoutMs);
  } catch (error) {
    if (!(error instanceof TaskTimeoutError)) throw error;
    const cancelled = (await options.network.cancel(taskId).catch(() => "started")) === "cancelled";
    if (cancelled) options.accounts.refund(key, submitted.fee);
    throw new OpenAiError(
      504,
      "timeout_error",
      cancelled
        ? `No consensus within ${options.timeoutMs / 1000} s: task ${taskId} was still queued and has been cancelled; its fee is refunded.`
        : `No consensus within ${options.timeoutMs / 1000} s: task ${taskId} is running; it ends with a result or a refund, ` +
          `see \`triad task result ${taskId}\`.`,
      null,
      "upstream_timeout",
    );
  }
  if (result.outcome === "aborted") {
    options.accounts.refund(key, submitted.fee);
    throw new OpenAiError(502, "server_error", `Task ${taskId} aborted without consensus (${result.reason}); its fee is refunded.`, null, "no_consensus");
  }
  if (isTaskError(result.document)) {
    throw invalidRequest(`The nodes agreed the task is invalid (task ${taskId}): ${result.document.error.message}`, null, result.document.error.code);
  }
  return completionFromResponse(result.document, {
    task_id: String(taskId),
    nodes: result.nodes,
    result_hash: result.resultHash,
    seed,
    create_tx: submitted.createTx,
  }, Math.floor(Date.now() / 1000));
}

/** Server-sent events in OpenAI's chunk format, sent at once: the content exists only once it is verified. */
function sendStream(reply: FastifyReply, completion: ChatCompletion, includeUsage: boolean): FastifyReply {
  const events = chunksFromCompletion(completion, includeUsage).map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`);
  events.push("data: [DONE]\n\n");
  return reply
    .header("content-type", "text/event-stream; charset=utf-8")
    .header("cache-control", "no-cache")
    .send(events.join(""));
}

/** OpenAI's parameter names for the task fields a validation message names. */
const OPENAI_PARAM: Record<string, string> = { max_new_tokens: "max_tokens", num_return_sequences: "n" };

function validationError(message: string): OpenAiError {
  const first = /\$\.(?:generation_config\.)?([A-Za-z_]+)/.exec(message)?.[1] ?? null;
  const readable = message.replace(/\$\.generation_config\.(max_new_tokens|num_return_sequences)/g, (_m, field: string) => `${OPENAI_PARAM[field]} (${field})`);
  return invalidRequest(readable, first ? (OPENAI_PARAM[first] ?? first) : null);
}

function rateLimited(key: ApiKeySpec | undefined): OpenAiError {
  const limit = key ? `${key.requestsPerMinute} requests per minute for API key "${key.name}"` : "the request rate limit";
  return new OpenAiError(429, "rate_limit_error", `Rate limit reached: ${limit}. Try again later.`, null, "rate_limit_exceeded");
}
