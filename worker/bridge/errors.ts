/** OpenAI's error types, by HTTP status, as its API and official clients use them. */
export type OpenAiErrorType =
  | "invalid_request_error"
  | "idempotency_error"
  | "authentication_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "server_error"
  | "timeout_error";

/** An error answered in OpenAI's format: `{ "error": { "message", "type", "param", "code" } }`. */
export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    readonly type: OpenAiErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /**
     * Sent as `x-should-retry`, which the official clients obey: true only when no paid task exists for the
     * request and repeating it may succeed; false whenever a retry without the same Idempotency-Key could pay twice.
     */
    readonly retryable = false,
  ) {
    super(message);
    this.name = "OpenAiError";
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = "invalid_value") =>
  new OpenAiError(400, "invalid_request_error", message, param, code);
