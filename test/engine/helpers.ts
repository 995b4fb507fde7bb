import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ForwardPass } from "../../worker/engine/forward.js";
import { type GptEngine, encodeTask, type GptResponse, type GptTask, type TaskOutcome } from "../../worker/engine/index.js";
import { logSoftmax } from "../../worker/engine/logits-processors.js";
import { loadModel, type LoadedModel } from "../../worker/engine/model-loader.js";
import { defaultModelsDir, repoRoot } from "../../worker/paths.js";

export const MODEL = "stories260K";
export const modelsDir = defaultModelsDir();
export const modelDir = path.join(modelsDir, MODEL);
export { repoRoot };

// biome-ignore lint/suspicious/noExplicitAny: the tests read ad-hoc fields of the fixture files
export function readModelJson<T = any>(relativePath: string): T {
  return JSON.parse(readFileSync(path.join(modelDir, relativePath), "utf8"));
}

export function task(overrides: Partial<GptTask> & { generation_config?: GptTask["generation_config"] } = {}): GptTask {
  return { model: MODEL, messages: [{ role: "user", content: "Once upon a time" }], seed: 42, ...overrides };
}

export async function run(engine: GptEngine, t: unknown): Promise<TaskOutcome> {
  return engine.runTask(encodeTask(t));
}

export function responseOf(outcome: TaskOutcome): GptResponse {
  if (outcome.kind !== "response") throw new Error(`expected a response, got ${outcome.canonicalJson}`);
  return outcome.document as GptResponse;
}

export function loadStories(): Promise<LoadedModel> {
  return loadModel({ model: MODEL }, modelsDir, false, {
    device: "cpu",
    intraOpThreads: 1,
    interOpThreads: 1,
    graphOptimizationLevel: "all",
  });
}

/**
 * Next-token log-probs for each full token sequence, computed WITHOUT a KV cache (every row re-run from
 * scratch, all rows equally long): an independent path from the engine's incremental decoding.
 */
export async function logProbsFromScratch(model: LoadedModel, rows: number[][]): Promise<Float32Array[]> {
  const forward = new ForwardPass(model);
  const result: Float32Array[] = [];
  const chunk = 256;
  for (let start = 0; start < rows.length; start += chunk) {
    const batch = rows.slice(start, start + chunk);
    const { logits } = await forward.run(batch, forward.emptyCache(batch.length));
    result.push(...logits.map(logSoftmax));
  }
  return result;
}

/**
 * A models folder whose `name` is stories260K's files with a longer context in config.json (its other files
 * linked): for the bounds that only a long-context model reaches. Returns the folder and its removal.
 */
export async function longContextModels(name: string, contextTokens: number): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "triad-long-context-"));
  const model = path.join(dir, name);
  await mkdir(model);
  for (const entry of await readdir(modelDir)) {
    if (entry !== "config.json") await symlink(path.join(modelDir, entry), path.join(model, entry));
  }
  await writeFile(
    path.join(model, "config.json"),
    JSON.stringify({ ...readModelJson("config.json"), max_position_embeddings: contextTokens }),
  );
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
