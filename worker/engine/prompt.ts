import type { PreTrainedTokenizer } from "@huggingface/transformers";
import type { ChatMessage } from "./types.js";

/**
 * Prompt token ids as HF does it: the model's chat template rendered with add_generation_prompt and
 * tokenized WITHOUT adding special tokens again (the template writes them); a model without a template
 * gets its message contents joined with "\n" and tokenized normally.
 */
export function promptTokenIds(tokenizer: PreTrainedTokenizer, messages: ChatMessage[]): number[] {
  if (hasChatTemplate(tokenizer)) {
    const text = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, tokenize: false }) as string;
    return tokenizer.encode(text, { add_special_tokens: false });
  }
  return tokenizer.encode(messages.map((m) => m.content).join("\n"));
}

function hasChatTemplate(tokenizer: PreTrainedTokenizer): boolean {
  const template = (tokenizer as unknown as { chat_template?: unknown }).chat_template;
  return typeof template === "string" ? template.length > 0 : template !== null && template !== undefined;
}

/** The HF pipeline convention: decode(prompt + completion) minus decode(prompt), special tokens skipped. */
export function completionText(tokenizer: PreTrainedTokenizer, promptIds: number[], completionIds: number[]): string {
  const prompt = tokenizer.decode(promptIds, { skip_special_tokens: true });
  const full = tokenizer.decode([...promptIds, ...completionIds], { skip_special_tokens: true });
  return full.slice(prompt.length);
}
