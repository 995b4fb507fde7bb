import { isError } from "ethers";
import pRetry, { AbortError } from "p-retry";

export interface RpcRetryOptions {
  /** Retries after the first attempt (default 5: about 8 s of backoff). */
  retries?: number;
  /** Delay before the first retry in ms, doubled each time (default 250). */
  minRetryDelayMs?: number;
}

/** Answers of the chain about the call itself: repeating it cannot help. */
const FINAL_ERRORS = ["CALL_EXCEPTION", "INVALID_ARGUMENT", "NUMERIC_FAULT", "INSUFFICIENT_FUNDS", "ACTION_REJECTED"] as const;

/**
 * A chain read retried with exponential backoff (p-retry) on network errors and RPC failures, never on a revert
 * or a bad argument. Only for reads and other calls that are safe to repeat: a transaction is not.
 */
export function withRpcRetries<T>(what: string, read: () => Promise<T>, options: RpcRetryOptions = {}): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await read();
      } catch (error) {
        if (FINAL_ERRORS.some((code) => isError(error, code))) throw new AbortError(error as Error);
        throw error;
      }
    },
    { retries: options.retries ?? 5, minTimeout: options.minRetryDelayMs ?? 250, maxTimeout: 5_000, factor: 2, randomize: true },
  ).catch((error: unknown) => {
    throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
  });
}
