import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import { keccak256 } from "ethers";
import type { Logger } from "pino";
import { authenticate } from "./auth.js";
import { parseTaskId as parseTaskIdText, TaskStatus, taskStatusName } from "../chain/index.js";
import type { OnChainTask, TaskView } from "./chain.js";
import { RelayError, type RelayErrorBody } from "./errors.js";
import type { NonceStore } from "./nonce-store.js";
import type { ObjectStore } from "./object-store.js";
import type { PendingArgs } from "./pending-args.js";
import {
  AUTH_HEADERS,
  CONTENT_HASH_HEADER,
  MAX_ARGS_BYTES,
  MAX_RESULT_BYTES,
  unixSeconds,
  type ObjectKind,
  type RelayDomain,
} from "./protocol.js";
import type { TaskIndex } from "./task-index.js";

export interface RelayDependencies {
  chain: TaskView;
  objects: ObjectStore;
  tasks: TaskIndex;
  nonces: NonceStore;
  pending: PendingArgs;
  logger: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Longest time to receive a request and answer it (default 120 s); past it the connection is closed. */
  requestTimeoutMs?: number;
}

interface TaskParams {
  taskId: string;
}

/** The relay's HTTP routes (not yet listening). */
export function buildRelayApp(deps: RelayDependencies) {
  const now = deps.now ?? Date.now;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: MAX_RESULT_BYTES,
    // Errors the router answers itself (a malformed percent-encoding, a path segment over 100 characters) in the
    // relay's error format too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
      return reply.code(tooLong ? 414 : 400).send(errorBody(tooLong ? "path_too_long" : "bad_url", error.message));
    },
  });

  // A request whose answer is not sent within the timeout (in practice: a body trickled in, or stalled, by a client
  // that signed it) loses its connection, so it holds its buffer and socket no longer. (Fastify turns Node's
  // requestTimeout off, and setting it did not cut a stalled body in our tests.)
  const requestTimeoutMs = deps.requestTimeoutMs ?? 120_000;
  app.addHook("onRequest", async (request, reply) => {
    const timer = setTimeout(() => {
      request.log.info({ timeoutMs: requestTimeoutMs }, "request not received in time: connection closed");
      request.raw.destroy();
    }, requestTimeoutMs);
    reply.raw.once("close", () => clearTimeout(timer));
  });

  // Every body is raw bytes whatever its content type: the relay hashes exactly what it received.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError | RelayError, request, reply) => {
    const { status, body } = errorResponse(error);
    if (body.error.code === "payload_too_large") {
      body.error.message = `the body exceeds this route's limit of ${request.routeOptions.bodyLimit} bytes`;
    }
    if (status >= 500) request.log.error({ err: error }, "request failed");
    else request.log.info({ status, code: body.error.code }, "request rejected");
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody("not_found", `no route ${request.method} ${request.url}`)));

  // The chain id is read once (and again after a failure): requests are signed for this chain and task manager.
  let domain: Promise<RelayDomain> | undefined;
  const relayDomain = () => {
    domain ??= deps.chain.head().then(
      (head) => ({ chainId: head.chainId, taskManager: deps.chain.taskManager }),
      (error: unknown) => {
        domain = undefined;
        throw error;
      },
    );
    return domain;
  };
  const signer = async (request: FastifyRequest, hasBody: boolean) =>
    authenticate(
      { method: request.method, path: request.url, headers: request.headers, hasBody },
      deps.nonces,
      unixSeconds(now()),
      await relayDomain(),
    );

  /** Hashed last, after every cheap check: the body must be the one whose hash was signed. */
  const checkBody = (body: Uint8Array, signedHash: string) => {
    const hash = keccak256(body);
    if (hash !== signedHash) {
      throw new RelayError(401, "bad_signature", `keccak256 of the body is ${hash}, not the signed ${AUTH_HEADERS.bodyHash} ${signedHash}`);
    }
    return hash;
  };

  /**
   * Every check of an upload that needs no body, run in `onRequest`, before Fastify reads the body: a forged,
   * replayed or wrong-role upload is refused without the relay buffering (or waiting for) a single body byte.
   */
  const authorized = new WeakMap<FastifyRequest, { address: string; signedHash: string }>();
  const authorizeUpload = (kind: ObjectKind) => async (request: FastifyRequest) => {
    const taskId = taskIdOf(request);
    const { address, bodyHash: signedHash } = await signer(request, true);
    const task = await knownTask(deps.chain, taskId);
    const expectedHash = kind === "args" ? checkArgsUpload(task, address) : checkResultUpload(task, address);
    if (signedHash !== expectedHash.toLowerCase()) {
      throw new RelayError(422, "hash_mismatch", `keccak256 of the body is ${signedHash}; the chain records ${expectedHash}`);
    }
    authorized.set(request, { address, signedHash });
  };
  const authorizePending = async (request: FastifyRequest) => {
    const argsHash = pendingArgsHash(request);
    const { address, bodyHash: signedHash } = await signer(request, true);
    if (signedHash !== argsHash) {
      throw new RelayError(422, "hash_mismatch", `the signed body hash ${signedHash} is not the path's ${argsHash}`);
    }
    authorized.set(request, { address, signedHash });
  };
  const authorizedUpload = (request: FastifyRequest) => {
    const checked = authorized.get(request);
    if (checked === undefined) throw new Error("an upload reached its handler unauthorized");
    const body = new Uint8Array(request.body instanceof Buffer ? request.body : Buffer.alloc(0));
    return { ...checked, body, hash: checkBody(body, checked.signedHash) };
  };

  const upload = (kind: ObjectKind) => async (request: FastifyRequest<{ Params: TaskParams }>) => {
    const taskId = taskIdOf(request);
    const { address, body, hash } = authorizedUpload(request);
    // The object first, then the index entry that points at it.
    const stored = await deps.objects.put(body, hash);
    const indexed = (await deps.tasks.hashOf(taskId, kind)) === hash;
    if (!indexed) await deps.tasks.record(taskId, kind, hash);
    const created = stored.created || !indexed;
    request.log.info({ taskId: taskId.toString(), kind, hash, bytes: body.length, by: address, created }, "stored");
    return { status: created ? 201 : 200, body: { taskId: taskId.toString(), kind, hash, bytes: body.length } };
  };

  // Claims of pending uploads, one at a time per task (the three nodes ask for the arguments at once).
  const claims = new Map<string, Promise<void>>();
  const claimPendingArgs = (taskId: bigint, task: OnChainTask) => {
    let claim = claims.get(taskId.toString());
    if (!claim) {
      claim = (async () => {
        if ((await deps.tasks.hashOf(taskId, "args")) !== undefined) return;
        const bytes = await deps.pending.get(task.argsHash, task.creator, now());
        if (bytes === null) return;
        await deps.objects.put(bytes, task.argsHash.toLowerCase());
        await deps.tasks.record(taskId, "args", task.argsHash.toLowerCase());
        await deps.pending.remove(task.argsHash, task.creator);
        deps.logger.info({ taskId: taskId.toString(), hash: task.argsHash, by: task.creator }, "claimed pending args");
      })().finally(() => claims.delete(taskId.toString()));
      claims.set(taskId.toString(), claim);
    }
    return claim;
  };

  const download = async (taskId: bigint, kind: ObjectKind) => {
    const hash = await deps.tasks.hashOf(taskId, kind);
    const bytes = hash === undefined ? null : await deps.objects.get(hash);
    if (hash === undefined || bytes === null) {
      throw new RelayError(404, `${kind}_not_uploaded`, `the ${kind} of task ${taskId} have not been uploaded yet`);
    }
    return { hash, bytes };
  };

  app.put<{ Params: TaskParams }>(
    "/v1/tasks/:taskId/args",
    { bodyLimit: MAX_ARGS_BYTES, onRequest: authorizeUpload("args") },
    async (request, reply) => {
      const { status, body } = await upload("args")(request);
      return reply.code(status).send(body);
    },
  );

  app.put<{ Params: TaskParams }>(
    "/v1/tasks/:taskId/result",
    { bodyLimit: MAX_RESULT_BYTES, onRequest: authorizeUpload("result") },
    async (request, reply) => {
      const { status, body } = await upload("result")(request);
      return reply.code(status).send(body);
    },
  );

  // Arguments uploaded before createTask: signed by their future creator, checked against the hash in the path.
  const pendingOptions = { bodyLimit: MAX_ARGS_BYTES, onRequest: authorizePending };
  app.put<{ Params: { argsHash: string } }>("/v1/args/:argsHash", pendingOptions, async (request, reply) => {
    const { address, body, hash: argsHash } = authorizedUpload(request);
    const stored = await deps.pending.put(argsHash, address, body, now());
    if (stored === "too_many_for_uploader") {
      const message = `${address} already holds the most unclaimed argument uploads; create their tasks or wait for them to expire`;
      throw new RelayError(429, "too_many_pending", message);
    }
    if (stored === "store_full") {
      const message = `the relay holds its most bytes of unclaimed argument uploads (${deps.pending.maxTotalBytes}); retry later`;
      throw new RelayError(507, "pending_store_full", message);
    }
    request.log.info({ hash: argsHash, bytes: body.length, by: address }, "stored pending args");
    return reply.code(201).send({ kind: "pending-args", hash: argsHash, bytes: body.length, expiresInSeconds: deps.pending.ttlSeconds });
  });

  app.get<{ Params: TaskParams }>("/v1/tasks/:taskId/args", async (request, reply) => {
    const taskId = taskIdOf(request);
    const { address } = await signer(request, false);
    const task = await knownTask(deps.chain, taskId);
    if (!sameAddress(task.creator, address) && !isTaskNode(task, address)) {
      throw new RelayError(403, "not_task_party", `${address} is neither the creator nor a node of task ${taskId}`);
    }
    await claimPendingArgs(taskId, task);
    const { hash, bytes } = await download(taskId, "args");
    return reply.header(CONTENT_HASH_HEADER, hash).type("application/octet-stream").send(Buffer.from(bytes));
  });

  // Open to anyone, unsigned: results are public (docs/relay.md). The stored result was checked against the chain's
  // resultHash on upload.
  app.get<{ Params: TaskParams }>("/v1/tasks/:taskId/result", async (request, reply) => {
    const taskId = taskIdOf(request);
    const { hash, bytes } = await download(taskId, "result");
    return reply.header(CONTENT_HASH_HEADER, hash).type("application/octet-stream").send(Buffer.from(bytes));
  });

  app.get("/healthz", async (_request, reply) => {
    try {
      const head = await deps.chain.head();
      return {
        ok: true,
        chainId: head.chainId.toString(),
        taskManager: deps.chain.taskManager,
        blockNumber: head.blockNumber,
        storedObjects: deps.objects.count,
      };
    } catch (error) {
      const { body } = errorResponse(error as Error);
      return reply.code(503).send({
        ok: false,
        chainId: null,
        taskManager: deps.chain.taskManager,
        blockNumber: null,
        storedObjects: deps.objects.count,
        error: body.error,
      });
    }
  });

  return app;
}

function pendingArgsHash(request: FastifyRequest): string {
  const argsHash = (request.params as { argsHash: string }).argsHash.toLowerCase();
  if (!/^0x[0-9a-f]{64}$/.test(argsHash)) {
    const message = `the path must end in the keccak256 of the arguments (0x and 64 hex digits), got "${argsHash}"`;
    throw new RelayError(400, "bad_args_hash", message);
  }
  return argsHash;
}

/** The route's task id as sent: a percent-encoded one ("%31") is not canonical, though Fastify would decode it. */
function taskIdOf(request: FastifyRequest): bigint {
  return parseTaskId(request.url.split("?")[0]!.split("/")[3] ?? "");
}

function parseTaskId(text: string): bigint {
  try {
    return parseTaskIdText(text);
  } catch (error) {
    throw new RelayError(400, "bad_task_id", `taskId ${(error as Error).message}`);
  }
}

async function knownTask(chain: TaskView, taskId: bigint): Promise<OnChainTask> {
  const task = await chain.getTask(taskId);
  if (task === null) throw new RelayError(404, "unknown_task", `the chain has no task ${taskId}`);
  return task;
}

function checkArgsUpload(task: OnChainTask, address: string): string {
  if (!sameAddress(task.creator, address)) {
    throw new RelayError(403, "not_task_creator", `only the task creator ${task.creator} may upload its args`);
  }
  return task.argsHash;
}

function checkResultUpload(task: OnChainTask, address: string): string {
  if (!isTaskNode(task, address)) {
    throw new RelayError(403, "not_task_node", `only a selected node of the task may upload its result`);
  }
  if (task.status !== TaskStatus.Succeeded) {
    throw new RelayError(
      409,
      "task_not_succeeded",
      `the task is ${taskStatusName(task.status)}; a result is accepted once it is Succeeded`,
    );
  }
  return task.resultHash;
}

function isTaskNode(task: OnChainTask, address: string): boolean {
  return task.nodes.some((node) => sameAddress(node, address));
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function errorBody(code: string, message: string): RelayErrorBody {
  return { error: { code, message } };
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "payload_too_large",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "bad_content_length",
};

function errorResponse(error: FastifyError | RelayError | Error): { status: number; body: RelayErrorBody } {
  if (error instanceof RelayError) return { status: error.status, body: errorBody(error.code, error.message) };
  const status = (error as FastifyError).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    const fastifyCode = (error as FastifyError).code;
    return { status, body: errorBody(FASTIFY_CODES[fastifyCode] ?? "bad_request", error.message) };
  }
  return { status: 500, body: errorBody("internal_error", "the relay failed to handle the request") };
}
