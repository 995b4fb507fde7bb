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

/** The JSON body of every relay error response. */
export interface RelayErrorBody {
  error: { code: string; message: string };
}
