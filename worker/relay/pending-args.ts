import { mkdir, readdir, readFile, stat, unlink } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";

const FILE_NAME = /^([0-9a-f]{64})-(0x[0-9a-f]{40})$/;

export interface PendingArgsOptions {
  /** Seconds an unclaimed upload is kept (default 3600). */
  ttlSeconds?: number;
  /** Unclaimed uploads one account may hold at once (default 64). */
  maxPerUploader?: number;
}

/**
 * Task arguments uploaded BEFORE their task exists, so a creator never pays a fee for a task whose arguments
 * might not reach the relay. `pending/<argsHash hex>-<uploader>` holds the bytes (already checked to hash to
 * argsHash). When a task's arguments are first read, the relay claims the upload whose hash is the task's
 * on-chain argsHash and whose uploader is the task's on-chain creator: it moves into the object store and the
 * task index like an upload made after createTask. Unclaimed uploads expire after `ttlSeconds`; each account
 * holds at most `maxPerUploader` at once.
 */
export class PendingArgs {
  readonly #dir: string;
  readonly #ttlMs: number;
  readonly #maxPerUploader: number;

  private constructor(dir: string, options: PendingArgsOptions) {
    this.#dir = dir;
    this.#ttlMs = (options.ttlSeconds ?? 3600) * 1000;
    this.#maxPerUploader = options.maxPerUploader ?? 64;
  }

  static async open(dir: string, options: PendingArgsOptions = {}): Promise<PendingArgs> {
    await mkdir(dir, { recursive: true });
    return new PendingArgs(dir, options);
  }

  get ttlSeconds(): number {
    return this.#ttlMs / 1000;
  }

  /** Stores an upload (replacing, and so renewing, the same one); false when the uploader holds too many already. */
  async put(argsHash: string, uploader: string, bytes: Uint8Array, nowMs: number): Promise<boolean> {
    await this.expire(nowMs);
    const file = this.#fileOf(argsHash, uploader);
    const mine = (await readdir(this.#dir)).filter((name) => FILE_NAME.exec(name)?.[2] === uploader.toLowerCase());
    if (!mine.includes(path.basename(file)) && mine.length >= this.#maxPerUploader) return false;
    await writeFileAtomic(file, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return true;
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
