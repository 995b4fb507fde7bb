import { TaskRejection } from "./errors.js";
import { validateTask } from "./validation.js";
import type { GptTask } from "./types.js";

/** Task bytes -> validated task; bytes that are not UTF-8 JSON or a task that breaks a rule -> TaskRejection. */
export function parseTask(bytes: Uint8Array): GptTask {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (error) {
    const reason = error instanceof SyntaxError ? "is not valid JSON" : "is not valid UTF-8";
    throw new TaskRejection("invalid_json", `task ${reason}`);
  }
  const result = validateTask(parsed);
  if (!result.ok) throw new TaskRejection("invalid_task", result.message);
  return result.task;
}
