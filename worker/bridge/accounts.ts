import { formatEther } from "ethers";
import { OpenAiError } from "./errors.js";

export interface ApiKeySpec {
  key: string;
  name: string;
  /** Requests accepted per minute (per key). */
  requestsPerMinute: number;
  /** Most token wei this key may spend on task fees; refunded fees count back. */
  spendingCapWei: bigint;
}

/** API keys and what each has spent on fees (in memory: a restart resets spending). */
export class ApiAccounts {
  readonly #byKey = new Map<string, ApiKeySpec>();
  readonly #spent = new Map<string, bigint>();

  constructor(keys: ApiKeySpec[]) {
    for (const spec of keys) this.#byKey.set(spec.key, spec);
  }

  /** The key of a request's `Authorization: Bearer <key>` header; 401 in OpenAI's format otherwise. */
  authenticate(authorization: string | undefined): ApiKeySpec {
    const key = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
    if (!key) {
      throw new OpenAiError(401, "invalid_request_error", "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", null, "missing_api_key");
    }
    const spec = this.#byKey.get(key);
    if (!spec) throw new OpenAiError(401, "invalid_request_error", `Incorrect API key provided: ${mask(key)}.`, null, "invalid_api_key");
    return spec;
  }

  /** Reserves `fee` against the key's cap before the task is paid; 429 insufficient_quota past the cap. */
  charge(spec: ApiKeySpec, fee: bigint): void {
    const spent = this.#spent.get(spec.key) ?? 0n;
    if (spent + fee > spec.spendingCapWei) {
      throw new OpenAiError(
        429,
        "insufficient_quota",
        `API key "${spec.name}" reached its spending cap of ${formatEther(spec.spendingCapWei)} TRIAD ` +
          `(spent ${formatEther(spent)}, this request costs ${formatEther(fee)}).`,
        null,
        "insufficient_quota",
      );
    }
    this.#spent.set(spec.key, spent + fee);
  }

  /** Gives back a fee that was refunded (cancelled or aborted task) or never paid. */
  refund(spec: ApiKeySpec, fee: bigint): void {
    this.#spent.set(spec.key, (this.#spent.get(spec.key) ?? 0n) - fee);
  }

  spent(spec: ApiKeySpec): bigint {
    return this.#spent.get(spec.key) ?? 0n;
  }
}

function mask(key: string): string {
  return key.length <= 8 ? "****" : `${key.slice(0, 4)}****${key.slice(-4)}`;
}
