import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { completionText } from "./prompt.js";
import type { GeneratedSequence, GptResponse, TaskErrorCode, TaskErrorDocument } from "./types.js";

/** The seed format's response: one choice per returned sequence, usage counting stop tokens too. */
export function buildResponse(
  model: string,
  tokenizer: PreTrainedTokenizer,
  promptIds: number[],
  sequences: GeneratedSequence[],
): GptResponse {
  const completionTokens = sequences.reduce((sum, s) => sum + s.tokenIds.length, 0);
  return {
    model,
    choices: sequences.map((sequence, index) => ({
      finish_reason: sequence.finishReason,
      message: { role: "assistant", content: completionText(tokenizer, promptIds, sequence.tokenIds) },
      index,
    })),
    usage: {
      prompt_tokens: promptIds.length,
      completion_tokens: completionTokens,
      total_tokens: promptIds.length + completionTokens,
    },
  };
}

export function errorDocument(code: TaskErrorCode, message: string): TaskErrorDocument {
  return { error: { code, message } };
}
