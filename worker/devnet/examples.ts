import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { validateTask } from "../engine/index.js";
import { repoRoot } from "../paths.js";

export const EXAMPLES_DIR = path.join(repoRoot, "examples");

export interface ExampleTask {
  file: string;
  task: unknown;
  /** undefined when the task is valid, else the validator's message. */
  problem?: string;
}

/** examples/*.json in name order, each with its validation verdict. */
export function loadExampleTasks(dir = EXAMPLES_DIR): ExampleTask[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      const task: unknown = JSON.parse(readFileSync(file, "utf8"));
      const validation = validateTask(task);
      return { file, task, ...(validation.ok ? {} : { problem: validation.message }) };
    });
}
