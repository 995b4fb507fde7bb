import { GENERATION_DEFAULTS, GENERATION_SETTINGS } from "./task-schema.js";
import type { GenerationConfigInput, ResolvedGenerationConfig } from "./types.js";

/** HF GenerationConfig's defaults: the task settings' (from the schema), and those only a model sets. */
export const HF_GENERATION_DEFAULTS: Omit<ResolvedGenerationConfig, "eos_token_ids"> = {
  ...GENERATION_DEFAULTS,
  length_penalty: 1.0,
  early_stopping: false,
};

/**
 * Effective settings: the task's value, else the model's generation_config.json, else HF's default.
 * Stop ids come from generation_config.json's eos_token_id, else config.json's.
 */
export function resolveGenerationConfig(
  task: GenerationConfigInput | undefined,
  modelGenerationConfig: Record<string, unknown>,
  modelConfig: Record<string, unknown>,
): ResolvedGenerationConfig {
  const resolved: ResolvedGenerationConfig = { ...HF_GENERATION_DEFAULTS, eos_token_ids: [] };
  const settings = resolved as unknown as Record<string, unknown>;
  for (const key of [...GENERATION_SETTINGS, "length_penalty", "early_stopping"] as const) {
    const fromModel = modelGenerationConfig[key];
    if (fromModel !== undefined && fromModel !== null) settings[key] = fromModel;
  }
  for (const key of GENERATION_SETTINGS) {
    const fromTask = task?.[key];
    if (fromTask !== undefined) settings[key] = fromTask;
  }
  resolved.eos_token_ids = idList(modelGenerationConfig.eos_token_id ?? modelConfig.eos_token_id);
  return resolved;
}

function idList(value: unknown): number[] {
  if (typeof value === "number") return [value];
  if (Array.isArray(value)) return value.filter((v): v is number => Number.isInteger(v));
  return [];
}
