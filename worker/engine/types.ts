/** Types of the GPT task (input, derived from its schema in task-schema.ts) and its response (the hashed document). */
import type { GenerationConfigInput } from "./task-schema.js";

export type { ChatMessage, GenerationConfigInput, GenerationSetting, GptTask, Role, TaskDtype } from "./task-schema.js";

/** Every generation setting after defaults are applied (task, then model, then HF defaults), plus what only models set. */
export type ResolvedGenerationConfig = Required<GenerationConfigInput> & {
  length_penalty: number;
  early_stopping: boolean | "never";
  eos_token_ids: number[];
};

export type FinishReason = "stop" | "length";

export interface GptChoice {
  finish_reason: FinishReason;
  message: { role: "assistant"; content: string };
  index: number;
}

export interface GptResponse {
  model: string;
  choices: GptChoice[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface TaskErrorDocument {
  error: { code: TaskErrorCode; message: string };
}

export type TaskErrorCode = "invalid_json" | "invalid_task" | "model_not_found" | "unsupported_variant" | "context_length_exceeded";

/** One generated sequence: its new token ids (stop token included) and why it ended. */
export interface GeneratedSequence {
  tokenIds: number[];
  finishReason: FinishReason;
}
