import type pino from "pino";
import { TaskTimeoutError, type TaskResult } from "../client/result.js";
import type { GptTask } from "../engine/index.js";
import { quotaExceeded, type ApiKeySpec } from "./accounts.js";
import { OpenAiError, invalidRequest } from "./errors.js";
import { completionFromResponse, isTaskError, type ChatCompletion } from "./mapping.js";
import type { TriadNetwork } from "./network.js";
import { SpendingCapError, type BridgeStore, type RequestRecord } from "./store.js";

export interface RequestRunnerOptions {
  network: TriadNetwork;
  store: BridgeStore;
  timeoutMs: number;
  logger?: pino.Logger;
}

/** Re-charging a refunded request whose task turns out to exist: the fee was paid, whatever the cap says. */
const ALREADY_PAID = 1n << 255n;

/** The task is still running: the answer can be fetched later (GET /v1/triad/requests/:id or the same Idempotency-Key). */
export class StillRunning extends Error {
  constructor(readonly record: RequestRecord) {
    super(`task ${record.taskId} of request ${record.requestId} has no outcome yet`);
  }
}

/** Where a request's answer can be fetched after a disconnect, a timeout or a bridge restart. */
export function retrievalHint(record: RequestRecord): string {
  return (
    `fetch its verified answer with GET /v1/triad/requests/${record.requestId}` +
    (record.taskId === null ? "" : ` or GET /v1/triad/tasks/${record.taskId}`) +
    (record.idempotencyKey === null ? "" : `, or repeat the request with the same Idempotency-Key`)
  );
}

/**
 * Runs stored requests to their outcome: makes sure each has exactly one task (paying for it at most once, even
 * across restarts), waits for its verified result and settles its fee in the store (refund on abort or cancel).
 */
export class RequestRunner {
  readonly #ensuring = new Map<string, Promise<RequestRecord>>();

  constructor(private readonly options: RequestRunnerOptions) {}

  /**
   * The request's verified answer. `cancelOnTimeout`: a task still queued when `waitMs` runs out is cancelled and
   * refunded (504); otherwise StillRunning is thrown.
   */
  async answer(requestId: string, spec: ApiKeySpec | undefined, waitMs: number, cancelOnTimeout: boolean): Promise<ChatCompletion> {
    const record = await this.ensureTask(requestId, spec);
    return this.#outcome(record, waitMs, cancelOnTimeout);
  }

  /**
   * The request's record with its task. Concurrent callers for one request share one attempt. A request whose
   * earlier attempt left no known task first looks for one on-chain (a crash after createTask was sent), then pays.
   * `spec` undefined: never pays (background recovery only finds or refunds).
   */
  ensureTask(requestId: string, spec: ApiKeySpec | undefined, fresh = false): Promise<RequestRecord> {
    let pending = this.#ensuring.get(requestId);
    if (!pending) {
      pending = this.#ensureTask(requestId, spec, fresh).finally(() => this.#ensuring.delete(requestId));
      this.#ensuring.set(requestId, pending);
    }
    return pending;
  }

  /** Settles requests a stopped or crashed bridge left open: finds their tasks, refunds aborted ones. */
  async recover(waitMs: number): Promise<void> {
    const { store, logger } = this.options;
    await Promise.all(
      store.open().map(async (record) => {
        try {
          const withTask = await this.ensureTask(record.requestId, undefined);
          if (withTask.taskId !== null) await this.#outcome(withTask, waitMs, false).catch(() => undefined);
        } catch (error) {
          logger?.warn({ requestId: record.requestId, err: error }, "could not recover a request");
        }
      }),
    );
  }

  async #ensureTask(requestId: string, spec: ApiKeySpec | undefined, fresh: boolean): Promise<RequestRecord> {
    const { store, network, logger } = this.options;
    let record = store.byRequestId(requestId)!;
    if (record.taskId !== null) return record;
    if (!fresh) {
      const found = await this.#findPaidTask(record);
      if (found) return found;
    }
    if (spec === undefined) {
      // Background recovery: no task on-chain means createTask never landed; give the fee back.
      return record.state === "submitting" ? store.refund(requestId, "createTask not mined") : record;
    }
    if (record.state === "refunded") {
      try {
        record = store.recharge(requestId, spec.spendingCapWei);
      } catch (error) {
        if (error instanceof SpendingCapError) throw quotaExceeded(spec, error.spentWei, record.feeWei);
        throw error;
      }
    }
    try {
      const submitted = await network.submit(JSON.parse(record.taskJson) as GptTask);
      logger?.info({ requestId, taskId: submitted.taskId.toString() }, "task created");
      return store.taskCreated(requestId, submitted.taskId, submitted.createTx);
    } catch (error) {
      // The transaction may have landed although its receipt never came back: look before refunding.
      const found = await this.#findPaidTask(record).catch(() => undefined);
      if (found) return found;
      store.refund(requestId, "createTask failed");
      throw new OpenAiError(
        502,
        "server_error",
        `Could not create the task on the network for request ${requestId}: ${(error as Error).message}. Nothing was paid.`,
        null,
        "upstream_error",
        true,
      );
    }
  }

  async #findPaidTask(record: RequestRecord): Promise<RequestRecord | undefined> {
    const { store, network } = this.options;
    for (const candidate of await network.findTasks(record.argsHash)) {
      if (store.isTaskMapped(candidate.taskId)) continue;
      this.options.logger?.info({ requestId: record.requestId, taskId: candidate.taskId.toString() }, "found the request's task on-chain");
      if (record.state === "refunded") store.recharge(record.requestId, ALREADY_PAID);
      return store.taskCreated(record.requestId, candidate.taskId, candidate.createTx);
    }
    return undefined;
  }

  async #outcome(record: RequestRecord, waitMs: number, cancelOnTimeout: boolean): Promise<ChatCompletion> {
    const { network, store } = this.options;
    const taskId = record.taskId!;
    let result: TaskResult;
    try {
      result = await network.result(taskId, waitMs);
    } catch (error) {
      if (!(error instanceof TaskTimeoutError)) {
        throw new OpenAiError(
          502,
          "server_error",
          `Task ${taskId} (request ${record.requestId}) is paid but its verified result could not be fetched: ` +
            `${(error as Error).message}. It ends on-chain with a result or a refund; ${retrievalHint(record)}.`,
          null,
          "result_unavailable",
        );
      }
      if (!cancelOnTimeout) throw new StillRunning(record);
      const cancelled = (await network.cancel(taskId).catch(() => "started")) === "cancelled";
      if (cancelled) store.refund(record.requestId, "Cancelled");
      const seconds = waitMs / 1000;
      throw new OpenAiError(
        504,
        "timeout_error",
        cancelled
          ? `No consensus within ${seconds} s: task ${taskId} (request ${record.requestId}) was still queued and has been cancelled; ` +
              `its fee is refunded.`
          : `No consensus within ${seconds} s: task ${taskId} (request ${record.requestId}) is running and ends on-chain with a ` +
              `result or a refund; ${retrievalHint(record)}.`,
        null,
        "upstream_timeout",
      );
    }
    if (result.outcome === "aborted") {
      store.refund(record.requestId, result.reason);
      throw new OpenAiError(
        502,
        "server_error",
        `Task ${taskId} (request ${record.requestId}) aborted without consensus (${result.reason}); its fee is refunded.`,
        null,
        "no_consensus",
      );
    }
    if (isTaskError(result.document)) {
      store.settle(record.requestId, "task_error");
      throw invalidRequest(
        `The nodes agreed the task is invalid (task ${taskId}): ${result.document.error.message}`,
        null,
        result.document.error.code,
      );
    }
    store.settle(record.requestId, "answered");
    return completionFromResponse(
      result.document,
      {
        task_id: String(taskId),
        nodes: result.nodes,
        args_hash: result.argsHash,
        model_revision: result.model.revision,
        model_digest: result.model.digest,
        result_hash: result.resultHash,
        seed: record.seed,
        create_tx: record.createTx ?? "",
      },
      record.createdAt,
    );
  }
}
