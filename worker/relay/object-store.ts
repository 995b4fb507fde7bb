import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { keccak256 } from "ethers";
import writeFileAtomic from "write-file-atomic";

const OBJECT_NAME = /^[0-9a-f]{64}$/;

/**
 * Content-addressed blobs: `objects/<keccak256 hex without 0x>`. A blob is written to a temporary file and
 * renamed into place (write-file-atomic), so a reader never sees a partial object under its final name.
 */
export class ObjectStore {
  readonly #dir: string;
  readonly #writing = new Map<string, Promise<boolean>>();
  #count: number;

  private constructor(dir: string, count: number) {
    this.#dir = dir;
    this.#count = count;
  }

  static async open(dir: string): Promise<ObjectStore> {
    await mkdir(dir, { recursive: true });
    // Leftover temporary files of an interrupted write never match the name pattern and are not counted.
    const names = await readdir(dir);
    return new ObjectStore(dir, names.filter((name) => OBJECT_NAME.test(name)).length);
  }

  /**
   * Stores the bytes under their keccak256; `created` is false when they were already there. A caller that
   * already hashed the bytes passes the hash to spare a second pass (about 110 ms per MiB).
   */
  async put(bytes: Uint8Array, hash: string = keccak256(bytes)): Promise<{ hash: string; created: boolean }> {
    // Concurrent uploads of the same bytes share one write, so the object is counted once.
    let writing = this.#writing.get(hash);
    if (writing === undefined) {
      writing = this.#writeIfAbsent(this.#fileOf(hash), bytes).finally(() => this.#writing.delete(hash));
      this.#writing.set(hash, writing);
      return { hash, created: await writing };
    }
    await writing;
    return { hash, created: false };
  }

  async #writeIfAbsent(file: string, bytes: Uint8Array): Promise<boolean> {
    if (await exists(file)) return false;
    await writeFileAtomic(file, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.#count += 1;
    return true;
  }

  /** The stored bytes of `hash`, or null when absent. */
  async get(hash: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.#fileOf(hash)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  /** Number of complete objects on disk. */
  get count(): number {
    return this.#count;
  }

  #fileOf(hash: string): string {
    const name = hash.toLowerCase().replace(/^0x/, "");
    if (!OBJECT_NAME.test(name)) throw new Error(`not a keccak256 hash: ${hash}`);
    return path.join(this.#dir, name);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
