import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file lives in worker/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Where local models are read from: `$TRIAD_MODELS_DIR`, else `../shared/models` beside the checkout.
 * Model files are never copied into the repository.
 */
export function defaultModelsDir(): string {
  return process.env.TRIAD_MODELS_DIR ?? path.resolve(repoRoot, "..", "shared", "models");
}
