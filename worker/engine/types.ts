/** Types of the GPT task (input) and its response (the hashed output document). */

export type Role = "system" | "user" | "assistant";

export interface ChatMessage {
  role: Role;
  content: string;
}

export interface GenerationConfigInput {
  max_new_tokens?: number;
  do_sample?: boolean;
  num_beams?: number;
  temperature?: number;
  typical_p?: number;
  top_k?: number;
  top_p?: number;
  repetition_penalty?: number;
  num_return_sequences?: number;
}

export type TaskDtype = "float16" | "bfloat16" | "float32" | "auto";

export interface GptTask {
  model: string;
  messages: ChatMessage[];
  generation_config?: GenerationConfigInput;
  seed: number;
  dtype?: TaskDtype;
  quantize_bits?: 4 | 8;
}

/** Every generation setting after defaults are applied (task, then model, then HF defaults). */
export interface ResolvedGenerationConfig {
  max_new_tokens: number;
  do_sample: boolean;
  num_beams: number;
  temperature: number;
  typical_p: number;
  top_k: number;
  top_p: number;
  repetition_penalty: number;
  num_return_sequences: number;
  length_penalty: number;
  early_stopping: boolean | "never";
  eos_token_ids: number[];
}

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

export type TaskErrorCode =
  | "invalid_json"
  | "invalid_task"
  | "model_not_found"
  | "unsupported_variant"
  | "context_length_exceeded";

/** One generated sequence: its new token ids (stop token included) and why it ended. */
export interface GeneratedSequence {
  tokenIds: number[];
  finishReason: FinishReason;
}
