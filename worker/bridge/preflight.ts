import { readFile } from "node:fs/promises";
import path from "node:path";
import { AutoTokenizer, env, type PreTrainedTokenizer } from "@huggingface/transformers";
import type { GptTask } from "../engine/index.js";
import { resolveGenerationConfig } from "../engine/generation-config.js";
import { promptTokenIds } from "../engine/prompt.js";
import { MAX_PROMPT_TOKENS } from "../engine/validation.js";
import { MAX_ARGS_BYTES } from "../relay/protocol.js";
import { OpenAiError, invalidRequest } from "./errors.js";

interface ModelLimits {
  tokenizer: PreTrainedTokenizer;
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  contextLength: number;
}

const CONTEXT_KEYS = ["max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"];

/**
 * Every limit a task would hit after its fee is paid, checked before: the relay's size limit for the
 * arguments and, when the bridge can read the model's files, the engine's context check (prompt tokens, counted
 * with the model's own tokenizer and chat template, plus max_new_tokens) and its prompt-token bound. The nodes run
 * the same checks, so a request that passes here is never refused by them for length.
 */
export class Preflight {
  readonly #models = new Map<string, Promise<ModelLimits | undefined>>();

  constructor(private readonly modelsDir?: string) {}

  async check(task: GptTask, taskBytes: Uint8Array): Promise<void> {
    if (taskBytes.length > MAX_ARGS_BYTES) {
      throw new OpenAiError(
        413,
        "invalid_request_error",
        `The request encodes to a task of ${taskBytes.length} bytes; the relay accepts task arguments up to ${MAX_ARGS_BYTES} bytes.`,
        "messages",
        "request_too_large",
      );
    }
    const limits = await this.#limits(task.model);
    if (!limits) return;
    const settings = resolveGenerationConfig(task.generation_config, limits.generationConfig, limits.config);
    const promptTokens = promptTokenIds(limits.tokenizer, task.messages).length;
    if (promptTokens + settings.max_new_tokens > limits.contextLength) {
      const promptAlone = promptTokens >= limits.contextLength;
      throw invalidRequest(
        `This model's maximum context length is ${limits.contextLength} tokens. However, you requested ` +
          `${promptTokens + settings.max_new_tokens} tokens (${promptTokens} in the messages, ` +
          `${settings.max_new_tokens} in the completion` +
          ` (max_tokens)). Please reduce the length of the messages or completion.`,
        promptAlone ? "messages" : "max_tokens",
        "context_length_exceeded",
      );
    }
    if (promptTokens > MAX_PROMPT_TOKENS) {
      throw invalidRequest(
        `A task may have at most ${MAX_PROMPT_TOKENS} prompt tokens (the work bound of a task); the messages are ` +
          `${promptTokens} tokens. Please reduce the length of the messages.`,
        "messages",
        "context_length_exceeded",
      );
    }
  }

  #limits(model: string): Promise<ModelLimits | undefined> {
    if (!this.modelsDir) return Promise.resolve(undefined);
    let limits = this.#models.get(model);
    if (!limits) {
      limits = loadLimits(this.modelsDir, model);
      this.#models.set(model, limits);
      limits.catch(() => this.#models.delete(model));
    }
    return limits;
  }
}

/** undefined when the model's files are not here: the nodes then remain the only judges of length. */
async function loadLimits(modelsDir: string, model: string): Promise<ModelLimits | undefined> {
  const dir = path.join(modelsDir, model);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const generationConfig = await readFile(path.join(dir, "generation_config.json"), "utf8").then(
    (text) => JSON.parse(text) as Record<string, unknown>,
    () => ({}),
  );
  const contextKey = CONTEXT_KEYS.find((key) => typeof config[key] === "number");
  if (!contextKey) return undefined;
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = modelsDir.endsWith("/") ? modelsDir : `${modelsDir}/`;
  const tokenizer = await AutoTokenizer.from_pretrained(model, { local_files_only: true });
  return { tokenizer, config, generationConfig, contextLength: config[contextKey] as number };
}
