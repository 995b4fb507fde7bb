import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { DatabaseSync } from "node:sqlite";

/** Loaded on first use: importing node:sqlite prints an ExperimentalWarning in every command that merely links the bridge. */
const sqlite = () => process.getBuiltinModule("node:sqlite") as typeof import("node:sqlite");

/**
 * Where a request stands. `submitting`: fee charged, createTask not known to be mined; `submitted`: the task
 * exists (fee paid on-chain); `refunded`: the fee came back (cancelled or aborted task, or createTask failed);
 * `settled`: the task ended with an answer or an agreed error (fee spent).
 */
export type RequestState = "submitting" | "submitted" | "refunded" | "settled";

export interface RequestRecord {
  requestId: string;
  keyId: string;
  idempotencyKey: string | null;
  bodyHash: string;
  /** The canonical task document the request maps to (its seed included), so a resumed request runs the same task. */
  taskJson: string;
  argsHash: string;
  seed: number;
  feeWei: bigint;
  taskId: bigint | null;
  createTx: string | null;
  state: RequestState;
  /** Unix seconds; the `created` of the answer. */
  createdAt: number;
  /** Set once the request is final: why it is refunded, or the agreed outcome's kind. */
  outcome: string | null;
}

/** What a request is recorded with before its fee is paid; `capWei` is its key's spending cap. */
export type NewRequest = Pick<RequestRecord, "keyId" | "idempotencyKey" | "bodyHash" | "taskJson" | "argsHash" | "seed" | "feeWei"> & {
  capWei: bigint;
};

export class SpendingCapError extends Error {
  constructor(
    readonly spentWei: bigint,
    readonly capWei: bigint,
  ) {
    super("spending cap reached");
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  request_id      TEXT PRIMARY KEY,
  key_id          TEXT NOT NULL,
  idempotency_key TEXT,
  body_hash       TEXT NOT NULL,
  task_json       TEXT NOT NULL,
  args_hash       TEXT NOT NULL,
  seed            INTEGER NOT NULL,
  fee_wei         TEXT NOT NULL,
  task_id         TEXT UNIQUE,
  create_tx       TEXT,
  state           TEXT NOT NULL CHECK (state IN ('submitting', 'submitted', 'refunded', 'settled')),
  created_at      INTEGER NOT NULL,
  outcome         TEXT,
  UNIQUE (key_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS requests_open ON requests (state) WHERE state IN ('submitting', 'submitted');
CREATE TABLE IF NOT EXISTS spending (
  key_id    TEXT PRIMARY KEY,
  spent_wei TEXT NOT NULL
);
`;

/** The id under which an API key's requests and spending are stored: its SHA-256, never the key itself. */
export function keyIdOf(apiKey: string): string {
  return createHash("sha256").update(apiKey).digest("hex");
}

/**
 * The bridge's durable state in SQLite (Node's built-in node:sqlite): each request and the task it paid for,
 * and what each API key spent. Charging and recording a request happen in one transaction, so a crash can
 * never leave a fee charged without its request or a request without its charge.
 */
export class BridgeStore {
  readonly #db: DatabaseSync;

  /** `file`: a path (created with its folder), or ":memory:" for a store that lives as long as the process. */
  constructor(file: string) {
    if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.#db = new (sqlite().DatabaseSync)(file);
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    this.#db.exec(SCHEMA);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  spent(keyId: string): bigint {
    const row = this.#db.prepare("SELECT spent_wei FROM spending WHERE key_id = ?").get(keyId) as { spent_wei: string } | undefined;
    return BigInt(row?.spent_wei ?? "0");
  }

  /** Charges the fee against the key's cap and records the request, atomically; SpendingCapError past the cap. */
  begin(request: NewRequest): RequestRecord {
    return this.#transaction(() => {
      const spent = this.spent(request.keyId);
      if (spent + request.feeWei > request.capWei) throw new SpendingCapError(spent, request.capWei);
      this.#addSpending(request.keyId, request.feeWei);
      const record: RequestRecord = {
        requestId: `req_${randomBytes(12).toString("hex")}`,
        ...request,
        taskId: null,
        createTx: null,
        state: "submitting",
        createdAt: Math.floor(Date.now() / 1000),
        outcome: null,
      };
      this.#db
        .prepare(
          `INSERT INTO requests (request_id, key_id, idempotency_key, body_hash, task_json, args_hash, seed, fee_wei, state, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'submitting', ?)`,
        )
        .run(
          record.requestId,
          record.keyId,
          record.idempotencyKey,
          record.bodyHash,
          record.taskJson,
          record.argsHash,
          record.seed,
          record.feeWei.toString(),
          record.createdAt,
        );
      return record;
    });
  }

  /** Charges a request again whose earlier fee was refunded before any task existed (a retry of a failed createTask). */
  recharge(requestId: string, capWei: bigint): RequestRecord {
    return this.#transaction(() => {
      const record = this.#required(requestId);
      if (record.state !== "refunded" || record.taskId !== null) return record;
      const spent = this.spent(record.keyId);
      if (spent + record.feeWei > capWei) throw new SpendingCapError(spent, capWei);
      this.#addSpending(record.keyId, record.feeWei);
      this.#db.prepare("UPDATE requests SET state = 'submitting', outcome = NULL WHERE request_id = ?").run(requestId);
      return this.#required(requestId);
    });
  }

  /** The task createTask created for the request (its fee is now escrowed on-chain). */
  taskCreated(requestId: string, taskId: bigint, createTx: string | null): RequestRecord {
    this.#db
      .prepare("UPDATE requests SET task_id = ?, create_tx = ?, state = 'submitted' WHERE request_id = ? AND state = 'submitting'")
      .run(taskId.toString(), createTx, requestId);
    return this.#required(requestId);
  }

  /** Gives the fee back to the key, once: a second refund of the same request changes nothing. */
  refund(requestId: string, reason: string): RequestRecord {
    return this.#transaction(() => {
      const record = this.#required(requestId);
      if (record.state === "refunded" || record.state === "settled") return record;
      this.#addSpending(record.keyId, -record.feeWei);
      this.#db.prepare("UPDATE requests SET state = 'refunded', outcome = ? WHERE request_id = ?").run(reason, requestId);
      return this.#required(requestId);
    });
  }

  /** The task ended with an answer (or an agreed error document): the fee stays spent. */
  settle(requestId: string, outcome: string): RequestRecord {
    this.#db
      .prepare("UPDATE requests SET state = 'settled', outcome = ? WHERE request_id = ? AND state = 'submitted'")
      .run(outcome, requestId);
    return this.#required(requestId);
  }

  byIdempotencyKey(keyId: string, idempotencyKey: string): RequestRecord | undefined {
    return this.#one("SELECT * FROM requests WHERE key_id = ? AND idempotency_key = ?", keyId, idempotencyKey);
  }

  byRequestId(requestId: string): RequestRecord | undefined {
    return this.#one("SELECT * FROM requests WHERE request_id = ?", requestId);
  }

  byTaskId(taskId: bigint): RequestRecord | undefined {
    return this.#one("SELECT * FROM requests WHERE task_id = ?", taskId.toString());
  }

  /** Requests whose outcome is not known yet (e.g. left by a bridge that stopped or crashed). */
  open(): RequestRecord[] {
    const rows = this.#db.prepare("SELECT * FROM requests WHERE state IN ('submitting', 'submitted') ORDER BY created_at").all();
    return rows.map((row) => fromRow(row as unknown as Row));
  }

  /** Task ids already mapped to a request (a task found on-chain after a crash must not be claimed twice). */
  isTaskMapped(taskId: bigint): boolean {
    return this.byTaskId(taskId) !== undefined;
  }

  #addSpending(keyId: string, deltaWei: bigint): void {
    const spent = this.spent(keyId) + deltaWei;
    this.#db
      .prepare("INSERT INTO spending (key_id, spent_wei) VALUES (?, ?) ON CONFLICT (key_id) DO UPDATE SET spent_wei = excluded.spent_wei")
      .run(keyId, spent.toString());
  }

  #required(requestId: string): RequestRecord {
    const record = this.byRequestId(requestId);
    if (!record) throw new Error(`the bridge store has no request ${requestId}`);
    return record;
  }

  #one(sql: string, ...params: string[]): RequestRecord | undefined {
    const row = this.#db.prepare(sql).get(...params) as unknown as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  #transaction<T>(body: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = body();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}

interface Row {
  request_id: string;
  key_id: string;
  idempotency_key: string | null;
  body_hash: string;
  task_json: string;
  args_hash: string;
  seed: number;
  fee_wei: string;
  task_id: string | null;
  create_tx: string | null;
  state: RequestState;
  created_at: number;
  outcome: string | null;
}

function fromRow(row: Row): RequestRecord {
  return {
    requestId: row.request_id,
    keyId: row.key_id,
    idempotencyKey: row.idempotency_key,
    bodyHash: row.body_hash,
    taskJson: row.task_json,
    argsHash: row.args_hash,
    seed: Number(row.seed),
    feeWei: BigInt(row.fee_wei),
    taskId: row.task_id === null ? null : BigInt(row.task_id),
    createTx: row.create_tx,
    state: row.state,
    createdAt: Number(row.created_at),
    outcome: row.outcome,
  };
}
