import { mkdir, readdir, readFile, stat, unlink } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";

const FILE_NAME = /^([0-9a-f]{64})-(0x[0-9a-f]{40})$/;
/** What one pending upload counts against the total at least: a disk block. */
const MIN_FOOTPRINT_BYTES = 4096;

export interface PendingArgsOptions {
  /** Seconds an unclaimed upload is kept (default 3600). */
  ttlSeconds?: number;
  /** Unclaimed uploads one account may hold at once (default 64). */
  maxPerUploader?: number;
  /**
   * Bytes of unclaimed uploads held at once, all accounts together (default 512 MiB), each counted as at least
   * 4 KiB: accounts cost nothing to make, so only a total bounds the disk (and files) a flood of fresh accounts fills.
   */
  maxTotalBytes?: number;
}

/** What `put` did: stored, or refused because the uploader or the whole store holds too much. */
export type PendingPutOutcome = "stored" | "too_many_for_uploader" | "store_full";

/**
 * Task arguments uploaded BEFORE their task exists, so a creator never pays a fee for a task whose arguments
 * might not reach the relay. `pending/<argsHash hex>-<uploader>` holds the bytes (already checked to hash to
 * argsHash). When a task's arguments are first read, the relay claims the upload whose hash is the task's
 * on-chain argsHash and whose uploader is the task's on-chain creator: it moves into the object store and the
 * task index like an upload made after createTask. Unclaimed uploads expire after `ttlSeconds`; each account
 * holds at most `maxPerUploader` at once, and all of them together at most `maxTotalBytes`.
 */
export class PendingArgs {
  readonly #dir: string;
  readonly #ttlMs: number;
  readonly #maxPerUploader: number;
  readonly maxTotalBytes: number;
  /** One put at a time, so concurrent uploads cannot all pass the caps they would exceed together. */
  #putting: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, options: PendingArgsOptions) {
    this.#dir = dir;
    this.#ttlMs = (options.ttlSeconds ?? 3600) * 1000;
    this.#maxPerUploader = options.maxPerUploader ?? 64;
    this.maxTotalBytes = options.maxTotalBytes ?? 512 * 1024 * 1024;
  }

  static async open(dir: string, options: PendingArgsOptions = {}): Promise<PendingArgs> {
    await mkdir(dir, { recursive: true });
    return new PendingArgs(dir, options);
  }

  get ttlSeconds(): number {
    return this.#ttlMs / 1000;
  }

  /** Stores an upload (replacing, and so renewing, the same one) unless the uploader or the store holds too much. */
  put(argsHash: string, uploader: string, bytes: Uint8Array, nowMs: number): Promise<PendingPutOutcome> {
    const put = this.#putting.then(() => this.#put(argsHash, uploader, bytes, nowMs));
    this.#putting = put.catch(() => undefined);
    return put;
  }

  async #put(argsHash: string, uploader: string, bytes: Uint8Array, nowMs: number): Promise<PendingPutOutcome> {
    await this.expire(nowMs);
    const file = this.#fileOf(argsHash, uploader);
    const names = (await readdir(this.#dir)).filter((name) => FILE_NAME.test(name));
    const mine = names.filter((name) => FILE_NAME.exec(name)?.[2] === uploader.toLowerCase());
    const renewal = mine.includes(path.basename(file));
    if (!renewal && mine.length >= this.#maxPerUploader) return "too_many_for_uploader";
    // Each upload counts at least one disk block, so a flood of tiny uploads is bounded in files, not only in bytes.
    const footprint = (size: number) => Math.max(size, MIN_FOOTPRINT_BYTES);
    let heldBytes = 0;
    for (const name of names) {
      if (name === path.basename(file)) continue;
      heldBytes += footprint((await stat(path.join(this.#dir, name)).catch(() => null))?.size ?? 0);
    }
    if (heldBytes + footprint(bytes.length) > this.maxTotalBytes) return "store_full";
    await writeFileAtomic(file, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return "stored";
  }

  /** The bytes `creator` uploaded for `argsHash`, if still there and not expired. */
  async get(argsHash: string, creator: string, nowMs: number): Promise<Uint8Array | null> {
    const file = this.#fileOf(argsHash, creator);
    try {
      if ((await stat(file)).mtimeMs + this.#ttlMs < nowMs) return null;
      return new Uint8Array(await readFile(file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  /** Forgets a claimed upload (its bytes now live in the object store). */
  async remove(argsHash: string, uploader: string): Promise<void> {
    await unlink(this.#fileOf(argsHash, uploader)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }

  /** Deletes every unclaimed upload older than the time to live. */
  async expire(nowMs: number): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.#dir)) {
      if (!FILE_NAME.test(name)) continue;
      const file = path.join(this.#dir, name);
      const info = await stat(file).catch(() => null);
      if (info && info.mtimeMs + this.#ttlMs < nowMs) {
        await unlink(file).catch(() => undefined);
        removed += 1;
      }
    }
    return removed;
  }

  #fileOf(argsHash: string, uploader: string): string {
    const name = `${argsHash.toLowerCase().replace(/^0x/, "")}-${uploader.toLowerCase()}`;
    if (!FILE_NAME.test(name)) throw new Error(`not an args hash and address: ${argsHash}, ${uploader}`);
    return path.join(this.#dir, name);
  }
}
