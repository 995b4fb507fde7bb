import { keccak256, type Signer } from "ethers";
import pRetry, { AbortError } from "p-retry";
import { ContentHashMismatch, RelayError, type RelayErrorBody } from "./errors.js";
import { pendingArgsPath, signRelayRequest, taskObjectPath, type ObjectKind, type RelayDomain } from "./protocol.js";

export interface RelayHealth {
  ok: boolean;
  chainId: string | null;
  /** The task manager whose tasks the relay serves (with chainId: the domain requests are signed for). */
  taskManager: string;
  blockNumber: number | null;
  storedObjects: number;
  error?: { code: string; message: string };
}

export interface UploadReceipt {
  taskId: string;
  kind: ObjectKind;
  hash: string;
  bytes: number;
  /** false when the relay already held these bytes (an idempotent repeat). */
  created: boolean;
}

export interface RelayClientOptions {
  /** Retries after the first attempt for network errors and 5xx answers (default 6: about 13 s of backoff). */
  retries?: number;
  /** Delay before the first retry in ms, doubled on each further retry (default 250). */
  minRetryDelayMs?: number;
  /**
   * The chain and task manager requests are signed for. Default: what the relay's /healthz says, asked once. Pass
   * it when known, so that a relay cannot have this client sign requests valid at another deployment's relay.
   */
  domain?: RelayDomain;
}

/**
 * Client of the relay. Every attempt is signed afresh (new timestamp and nonce), so a retry of a request
 * that did reach the relay is not rejected as a replay. Downloads are verified against the hash the caller
 * read from the chain: the relay is not trusted.
 */
export class RelayClient {
  readonly #baseUrl: string;
  readonly #signer: Signer;
  readonly #retries: number;
  readonly #minRetryDelayMs: number;
  #domain: Promise<RelayDomain> | undefined;

  constructor(baseUrl: string, signer: Signer, options: RelayClientOptions = {}) {
    this.#baseUrl = baseUrl.replace(/\/+$/, "");
    this.#signer = signer;
    this.#retries = options.retries ?? 6;
    this.#minRetryDelayMs = options.minRetryDelayMs ?? 250;
    if (options.domain) this.#domain = Promise.resolve(options.domain);
  }

  /**
   * Uploads a task's arguments BEFORE createTask, keyed by their keccak256: the relay hands them to the task this
   * account creates with that argsHash (docs/relay.md), so no fee is paid for arguments the relay never got.
   */
  async putPendingArgs(bytes: Uint8Array): Promise<{ hash: string; bytes: number; expiresInSeconds: number }> {
    const response = await this.#signedPut(pendingArgsPath(keccak256(bytes)), bytes);
    return (await response.json()) as { hash: string; bytes: number; expiresInSeconds: number };
  }

  putArgs(taskId: bigint, bytes: Uint8Array): Promise<UploadReceipt> {
    return this.#upload(taskId, "args", bytes);
  }

  putResult(taskId: bigint, bytes: Uint8Array): Promise<UploadReceipt> {
    return this.#upload(taskId, "result", bytes);
  }

  /** The task's arguments; throws unless they hash to `expectedHash` (the task's on-chain argsHash). */
  getArgs(taskId: bigint, expectedHash: string): Promise<Uint8Array> {
    return this.#download(taskId, "args", expectedHash, true);
  }

  /** The task's result; throws unless it hashes to `expectedHash` (the task's on-chain resultHash). */
  getResult(taskId: bigint, expectedHash: string): Promise<Uint8Array> {
    return this.#download(taskId, "result", expectedHash, false);
  }

  /** The relay's health; a 503 (chain unreachable) is an answer with ok=false, not an error. */
  health(): Promise<RelayHealth> {
    return this.#withRetries(async () => {
      const response = await fetch(`${this.#baseUrl}/healthz`);
      if (response.status === 503) return (await response.json()) as RelayHealth;
      await throwUnlessOk(response);
      return (await response.json()) as RelayHealth;
    });
  }

  async #upload(taskId: bigint, kind: ObjectKind, bytes: Uint8Array): Promise<UploadReceipt> {
    const response = await this.#signedPut(taskObjectPath(taskId, kind), bytes);
    const receipt = (await response.json()) as Omit<UploadReceipt, "created">;
    return { ...receipt, created: response.status === 201 };
  }

  /** A signed PUT of `bytes` (signed anew on every retry: a fresh timestamp and nonce); resolves once it is 2xx. */
  #signedPut(path: string, bytes: Uint8Array): Promise<Response> {
    return this.#withRetries(async () => {
      const headers = await signRelayRequest(this.#signer, { domain: await this.#relayDomain(), method: "PUT", path, body: bytes });
      const response = await fetch(`${this.#baseUrl}${path}`, {
        method: "PUT",
        headers: { ...headers, "content-type": "application/octet-stream" },
        body: bytes,
      });
      await throwUnlessOk(response);
      return response;
    });
  }

  async #download(taskId: bigint, kind: ObjectKind, expectedHash: string, signed: boolean): Promise<Uint8Array> {
    const path = taskObjectPath(taskId, kind);
    const bytes = await this.#withRetries(async () => {
      const headers = signed ? await signRelayRequest(this.#signer, { domain: await this.#relayDomain(), method: "GET", path }) : {};
      const response = await fetch(`${this.#baseUrl}${path}`, { headers });
      await throwUnlessOk(response);
      return new Uint8Array(await response.arrayBuffer());
    });
    const actualHash = keccak256(bytes);
    if (actualHash !== expectedHash.toLowerCase()) {
      throw new ContentHashMismatch(
        `the relay served ${kind} of task ${taskId} hashing to ${actualHash}, not the on-chain ${expectedHash}`,
      );
    }
    return bytes;
  }

  /** The relay's chain and task manager, from its /healthz (a 503 there, chain unreachable, is retried like any). */
  #relayDomain(): Promise<RelayDomain> {
    this.#domain ??= (async () => {
      const response = await fetch(`${this.#baseUrl}/healthz`);
      await throwUnlessOk(response);
      const health = (await response.json()) as RelayHealth;
      if (health.chainId === null || typeof health.taskManager !== "string") {
        throw new RelayError(502, "bad_health", "the relay's /healthz names no chainId and taskManager to sign for");
      }
      return { chainId: BigInt(health.chainId), taskManager: health.taskManager };
    })().catch((error: unknown) => {
      this.#domain = undefined;
      throw error;
    });
    return this.#domain;
  }

  async #withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await pRetry(
        async () => {
          try {
            return await attempt();
          } catch (error) {
            // 4xx are answers about the request itself: repeating it cannot help.
            if (error instanceof RelayError && error.status >= 400 && error.status < 500) throw new AbortError(error);
            throw error;
          }
        },
        { retries: this.#retries, minTimeout: this.#minRetryDelayMs, maxTimeout: 5_000, factor: 2, randomize: true },
      );
    } catch (error) {
      if (error instanceof RelayError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new RelayError(0, "network_error", `the relay at ${this.#baseUrl} could not be reached: ${reason}`);
    }
  }
}

async function throwUnlessOk(response: Response): Promise<void> {
  if (response.ok) return;
  let body: Partial<RelayErrorBody> = {};
  try {
    body = (await response.json()) as Partial<RelayErrorBody>;
  } catch {
    // not JSON (e.g. a proxy's error page): fall back to the status line
  }
  throw new RelayError(
    response.status,
    body.error?.code ?? `http_${response.status}`,
    body.error?.message ?? `${response.status} ${response.statusText}`,
  );
}
