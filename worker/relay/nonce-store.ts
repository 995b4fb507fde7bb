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

  get size(): number {
    return this.#usedUntil.size;
  }

  #forgetExpired(nowSeconds: number): void {
    for (const [key, usedUntil] of this.#usedUntil) {
      if (usedUntil < nowSeconds) this.#usedUntil.delete(key);
    }
  }

  /** Writes run one after another; each writes the whole current set, so the last one holds every nonce. */
  #persist(): Promise<void> {
    const write = this.#persisting.then(() => writeFileAtomic(this.#file, JSON.stringify(Object.fromEntries(this.#usedUntil))));
    this.#persisting = write.catch(() => undefined);
    return write;
  }
}
