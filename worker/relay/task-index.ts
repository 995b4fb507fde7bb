import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { ObjectKind } from "./protocol.js";

/** `tasks/<taskId>.json`: which stored objects are a task's arguments and result. */
export interface TaskEntry {
  argsHash?: string;
  resultHash?: string;
}

/**
 * The per-task index. An entry is written only after its object is on disk, so an entry always points at a
 * complete object; updates of one task are serialised so concurrent uploads cannot drop each other's field.
 */
export class TaskIndex {
  readonly #dir: string;
  readonly #pending = new Map<string, Promise<void>>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(dir: string): Promise<TaskIndex> {
    await mkdir(dir, { recursive: true });
    return new TaskIndex(dir);
  }

  async get(taskId: bigint): Promise<TaskEntry> {
    try {
      return JSON.parse(await readFile(this.#fileOf(taskId), "utf8")) as TaskEntry;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
  }

  async hashOf(taskId: bigint, kind: ObjectKind): Promise<string | undefined> {
    const entry = await this.get(taskId);
    return kind === "args" ? entry.argsHash : entry.resultHash;
  }

  async record(taskId: bigint, kind: ObjectKind, hash: string): Promise<void> {
    const key = taskId.toString();
    const previous = this.#pending.get(key) ?? Promise.resolve();
    const update = previous.then(async () => {
      const entry = await this.get(taskId);
      const updated: TaskEntry = kind === "args" ? { ...entry, argsHash: hash } : { ...entry, resultHash: hash };
      await writeFileAtomic(this.#fileOf(taskId), `${JSON.stringify(updated)}\n`);
    });
    const settled = update.catch(() => undefined);
    this.#pending.set(key, settled);
    void settled.then(() => {
      if (this.#pending.get(key) === settled) this.#pending.delete(key);
    });
    return update;
  }

  #fileOf(taskId: bigint): string {
    return path.join(this.#dir, `${taskId.toString()}.json`);
  }
}
