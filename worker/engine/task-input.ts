import { visit } from "jsonc-parser";
import { TaskRejection } from "./errors.js";
import { formatProblems, validateTask } from "./validation.js";
import type { GptTask } from "./types.js";
import { jsonPath } from "../schema-errors.js";

/** Task bytes -> validated task; bytes that are not UTF-8 JSON or a task that breaks a rule -> TaskRejection. */
export function parseTask(bytes: Uint8Array): GptTask {
  let text: string;
  let parsed: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof SyntaxError ? "is not valid JSON" : "is not valid UTF-8";
    throw new TaskRejection("invalid_json", `task ${reason}`);
  }
  const duplicates = duplicateKeys(text);
  if (duplicates.length > 0) throw new TaskRejection("invalid_task", formatProblems(duplicates));
  const result = validateTask(parsed);
  if (!result.ok) throw new TaskRejection("invalid_task", result.message);
  return result.task;
}

/**
 * A key twice in one object (`{"seed":1,"seed":2}`): JSON.parse keeps the last, other readers the first, so
 * the document would mean different tasks to different tools. Keys compare after unescaping, as JSON.parse does.
 */
function duplicateKeys(text: string): string[] {
  const problems: string[] = [];
  const open: Set<string>[] = [];
  visit(text, {
    onObjectBegin: () => {
      open.push(new Set());
    },
    onObjectProperty: (key, _offset, _length, _line, _column, path) => {
      const keys = open[open.length - 1]!;
      if (keys.has(key)) {
        const pointer = [...path(), key].map((segment) => `/${String(segment).replace(/~/g, "~0").replace(/\//g, "~1")}`);
        problems.push(`${jsonPath(pointer.join(""))}: duplicate key (a key may appear once per object)`);
      }
      keys.add(key);
    },
    onObjectEnd: () => {
      open.pop();
    },
  });
  return problems;
}
