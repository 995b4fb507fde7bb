import type { TaskErrorCode } from "./types.js";

/**
 * A local fault (ONNX Runtime crash, corrupt file, out of memory): the node must not commit a result,
 * because honest nodes would not reach the same outcome.
 */
export class EngineFault extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineFault";
  }
}

/**
 * A problem of the task itself. Every honest node reaches it the same way, so it becomes a hashed error
 * document instead of an exception. Its message must be deterministic (no paths, no timings).
 */
export class TaskRejection extends Error {
  constructor(
    readonly code: TaskErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "TaskRejection";
  }
}
