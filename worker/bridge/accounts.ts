import { formatEther } from "ethers";
import { OpenAiError } from "./errors.js";
import { BridgeStore, keyIdOf } from "./store.js";

export interface ApiKeySpec {
  key: string;
  name: string;
  /** Requests accepted per minute (per key). */
  requestsPerMinute: number;
  /** Most token wei this key may spend on task fees; refunded fees count back. */
  spendingCapWei: bigint;
}

/** API keys; what each spent lives in the bridge's store (it survives restarts). */
export class ApiAccounts {
  /**
   * By the SHA-256 of the key, never the key itself: looking a guess up compares digests, so how long the lookup
   * takes says nothing about how much of a real key the guess got right.
   */
  readonly #byKeyId = new Map<string, ApiKeySpec>();

  constructor(
    keys: ApiKeySpec[],
    readonly store: BridgeStore = new BridgeStore(":memory:"),
  ) {
    for (const spec of keys) this.#byKeyId.set(keyIdOf(spec.key), spec);
  }

  /** The key of a request's `Authorization: Bearer <key>` header; 401 in OpenAI's format otherwise. */
  authenticate(authorization: string | undefined): ApiKeySpec {
    const key = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
    if (!key) {
      throw new OpenAiError(
        401,
        "invalid_request_error",
        "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
        null,
        "missing_api_key",
      );
    }
    const spec = this.#byKeyId.get(keyIdOf(key));
    if (!spec) throw new OpenAiError(401, "invalid_request_error", `Incorrect API key provided: ${mask(key)}.`, null, "invalid_api_key");
    return spec;
  }

  spent(spec: ApiKeySpec): bigint {
    return this.store.spent(keyIdOf(spec.key));
  }
}

/** 429 insufficient_quota: the fee would take the key past its cap. */
export function quotaExceeded(spec: ApiKeySpec, spentWei: bigint, feeWei: bigint): OpenAiError {
  return new OpenAiError(
    429,
    "insufficient_quota",
    `API key "${spec.name}" reached its spending cap of ${formatEther(spec.spendingCapWei)} TRIAD ` +
      `(spent ${formatEther(spentWei)}, this request costs ${formatEther(feeWei)}).`,
    null,
    "insufficient_quota",
  );
}

function mask(key: string): string {
  return key.length <= 8 ? "****" : `${key.slice(0, 4)}****${key.slice(-4)}`;
}
