import type { GenerationConfigInput, ResolvedGenerationConfig } from "./types.js";

/** HF GenerationConfig's defaults, except max_new_tokens (256, as the seed format says). */
export const HF_GENERATION_DEFAULTS = {
  max_new_tokens: 256,
  do_sample: false,
  num_beams: 1,
  temperature: 1.0,
  typical_p: 1.0,
  top_k: 50,
  top_p: 1.0,
  repetition_penalty: 1.0,
  num_return_sequences: 1,
  length_penalty: 1.0,
  early_stopping: false as boolean | "never",
} satisfies Omit<ResolvedGenerationConfig, "eos_token_ids">;

const TASK_SETTINGS = [
  "max_new_tokens",
  "do_sample",
  "num_beams",
  "temperature",
  "typical_p",
  "top_k",
  "top_p",
  "repetition_penalty",
  "num_return_sequences",
] as const;

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
  for (const key of [...TASK_SETTINGS, "length_penalty", "early_stopping"] as const) {
    const fromModel = modelGenerationConfig[key];
    if (fromModel !== undefined && fromModel !== null) settings[key] = fromModel;
  }
  for (const key of TASK_SETTINGS) {
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
