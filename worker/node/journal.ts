import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";

/** How a task ended for this node. */
export type TaskEnding = "won" | "lost" | "aborted" | "missed";

/**
 * What the worker must remember about a task across crashes. The record is written (fsync'd, atomically
 * renamed) with the salt and result hash BEFORE the commit transaction is sent, so a restarted worker can
 * always reveal what it committed.
 */
export interface TaskRecord {
  taskId: string;
  argsHash: string;
  /** The hash this node committed to (differs from the honest one only under the wrongResult fault). */
  committedHash: string;
  /** The engine's result hash: the bytes under results/ hash to it. */
  resultHash: string;
  salt: string;
  outcomeKind: "response" | "error";
  committed?: boolean;
  revealed?: boolean;
  uploaded?: boolean;
  ending?: TaskEnding;
}

/** Per-task records and result documents under the worker's state dir. */
export class TaskJournal {
  readonly #tasksDir: string;
  readonly #resultsDir: string;
  readonly #cursorFile: string;

  constructor(stateDir: string) {
    this.#tasksDir = path.join(stateDir, "tasks");
    this.#resultsDir = path.join(stateDir, "results");
    this.#cursorFile = path.join(stateDir, "cursor.json");
    mkdirSync(this.#tasksDir, { recursive: true });
    mkdirSync(this.#resultsDir, { recursive: true });
  }

  get(taskId: bigint): TaskRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.#recordFile(taskId), "utf8")) as TaskRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Result bytes first, then the record that points to them: a record never refers to a missing result. */
  async create(record: TaskRecord, resultBytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.#resultFile(BigInt(record.taskId)), Buffer.from(resultBytes), { fsync: true });
    await this.save(record);
  }

  async save(record: TaskRecord): Promise<void> {
    await writeFileAtomic(this.#recordFile(BigInt(record.taskId)), JSON.stringify(record, null, 2) + "\n", { fsync: true });
  }

  async update(taskId: bigint, change: Partial<TaskRecord>): Promise<TaskRecord> {
    const record = this.get(taskId);
    if (!record) throw new Error(`the journal has no record of task ${taskId}`);
    const updated = { ...record, ...change };
    await this.save(updated);
    return updated;
  }

  result(taskId: bigint): Uint8Array {
    return readFileSync(this.#resultFile(taskId));
  }

  hasResult(taskId: bigint): boolean {
    return existsSync(this.#resultFile(taskId));
  }

  /** Drops a task's result bytes (the record stays), so the state dir does not grow with every task. */
  forgetResult(taskId: bigint): void {
    rmSync(this.#resultFile(taskId), { force: true });
  }

  /** Tasks this node still has something to do for (reveal, upload, or learn the ending). */
  unfinished(): bigint[] {
    return readdirSync(this.#tasksDir)
      .filter((name) => /^[0-9]+\.json$/.test(name))
      .map((name) => BigInt(name.slice(0, -".json".length)))
      .filter((taskId) => this.get(taskId)?.ending === undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The last block whose events were scanned (undefined on a fresh state dir). */
  cursor(): number | undefined {
    try {
      return (JSON.parse(readFileSync(this.#cursorFile, "utf8")) as { block: number }).block;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async saveCursor(block: number): Promise<void> {
    await writeFileAtomic(this.#cursorFile, JSON.stringify({ block }) + "\n", { fsync: true });
  }

  #recordFile(taskId: bigint): string {
    return path.join(this.#tasksDir, `${taskId}.json`);
  }

  #resultFile(taskId: bigint): string {
    return path.join(this.#resultsDir, `${taskId}.json`);
  }
}
