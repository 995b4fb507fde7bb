import { readFile } from "node:fs/promises";
import writeFileAtomic from "write-file-atomic";

/**
 * Remembers which (address, nonce) pairs were used while their timestamp is still acceptable, so a signed
 * request cannot be replayed. Every accepted nonce is written to disk (atomically) before the request it
 * authenticates is served, so a restart does not reopen the replay window.
 */
export class NonceStore {
  readonly #file: string;
  readonly #windowSeconds: number;
  /** `${address}:${nonce}` -> the last unix second at which a request carrying it could still be accepted. */
  readonly #usedUntil: Map<string, number>;
  #persisting: Promise<void> = Promise.resolve();
  /** The write that has not started yet, which a newly consumed nonce joins. */
  #queued: Promise<void> | undefined;
  #writes = 0;

  private constructor(file: string, windowSeconds: number, usedUntil: Map<string, number>) {
    this.#file = file;
    this.#windowSeconds = windowSeconds;
    this.#usedUntil = usedUntil;
  }

  static async open(file: string, windowSeconds: number): Promise<NonceStore> {
    let entries: Record<string, number> = {};
    try {
      entries = JSON.parse(await readFile(file, "utf8")) as Record<string, number>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return new NonceStore(file, windowSeconds, new Map(Object.entries(entries)));
  }

  /**
   * Marks the nonce used and persists it; false when the address already used it within the window.
   * The check-and-mark is synchronous, so two concurrent requests with one nonce cannot both pass.
   */
  async consume(address: string, nonce: string, timestamp: number, nowSeconds: number): Promise<boolean> {
    this.#forgetExpired(nowSeconds);
    const key = `${address.toLowerCase()}:${nonce.toLowerCase()}`;
    if (this.#usedUntil.has(key)) return false;
    this.#usedUntil.set(key, timestamp + this.#windowSeconds);
    await this.#persist();
    return true;
  }

  /** Whole-file writes made so far. */
  get writes(): number {
    return this.#writes;
  }

  get size(): number {
    return this.#usedUntil.size;
  }

  #forgetExpired(nowSeconds: number): void {
    for (const [key, usedUntil] of this.#usedUntil) {
      if (usedUntil < nowSeconds) this.#usedUntil.delete(key);
    }
  }

  /**
   * Writes run one after another and each writes the whole current set, so every nonce consumed before a write
   * starts is in it: callers arriving while a write is queued join that write instead of queueing their own.
   * A flood of signed requests therefore costs one whole-file write per write time, not one per request.
   */
  #persist(): Promise<void> {
    if (this.#queued) return this.#queued;
    const write = this.#persisting.then(() => {
      this.#queued = undefined;
      this.#writes += 1;
      return writeFileAtomic(this.#file, JSON.stringify(Object.fromEntries(this.#usedUntil)));
    });
    this.#queued = write;
    this.#persisting = write.catch(() => undefined);
    return write;
  }
}
