/**
 * A relay failure with an HTTP status and a stable machine-readable code. The server throws it from its
 * handlers (and renders it as `{ "error": { "code", "message" } }`); the client throws it for every failed
 * call. `status` is 0 when no HTTP response was received (network failure after the retries ran out).
 */
export class RelayError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "RelayError";
    this.status = status;
    this.code = code;
  }
}

/**
 * The relay answered, but the bytes it served do not hash to what the chain records: a faulty or dishonest
 * relay (or a tampered store). Not an HTTP failure, so not a RelayError; asking again may reach a sound copy.
 */
export class ContentHashMismatch extends Error {
  readonly code = "content_hash_mismatch";

  constructor(message: string) {
    super(message);
    this.name = "ContentHashMismatch";
  }
}

/** The JSON body of every relay error response. */
export interface RelayErrorBody {
  error: { code: string; message: string };
}
