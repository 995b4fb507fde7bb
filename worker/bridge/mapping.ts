import { randomBytes } from "node:crypto";
import type { GptResponse, GptTask, TaskErrorDocument } from "../engine/index.js";
import { invalidRequest } from "./errors.js";

/** The OpenAI chat completion request fields the bridge understands, plus Triad's generation settings. */
export interface ChatCompletionRequest {
  model: string;
  messages: Array<{ role: string; content: unknown; name?: string }>;
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  n?: number | null;
  seed?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  // Triad extensions (extra body fields with the openai client)
  top_k?: number;
  typical_p?: number;
  repetition_penalty?: number;
  num_beams?: number;
  do_sample?: boolean;
  dtype?: GptTask["dtype"];
  quantize_bits?: GptTask["quantize_bits"];
  [other: string]: unknown;
}

/**
 * Accepted and ignored: they do not change the generated text. Each is still checked against OpenAI's type (and
 * metadata's size), so nothing arbitrary (say, a deeply nested value) rides along into the stored request.
 */
const HARMLESS: Record<string, (value: unknown) => string | null> = {
  user: (value) => (typeof value === "string" && value.length <= 256 ? null : "must be a string of at most 256 characters"),
  metadata: (value) => metadataProblem(value),
  store: (value) => (typeof value === "boolean" ? null : "must be a boolean"),
  service_tier: (value) => (typeof value === "string" && value.length <= 64 ? null : "must be a string"),
  parallel_tool_calls: (value) => (typeof value === "boolean" ? null : "must be a boolean"),
  stream: (value) => (typeof value === "boolean" ? null : "must be a boolean"),
  stream_options: (value) =>
    isPlainObject(value) && Object.entries(value).every(([k, v]) => k === "include_usage" && (v === null || typeof v === "boolean"))
      ? null
      : "must be an object whose only field is include_usage (a boolean)",
};
/** Message fields accepted at their neutral value: what OpenAI returns on an assistant message sent back as history. */
const NEUTRAL_MESSAGE_FIELDS = new Set(["refusal", "tool_calls", "function_call", "audio", "annotations"]);
/** Accepted only at their neutral value (the engine has no such setting). */
const NEUTRAL: Record<string, unknown> = {
  presence_penalty: 0,
  frequency_penalty: 0,
  logprobs: false,
  top_logprobs: 0,
  stop: null,
  logit_bias: null,
  tools: null,
  tool_choice: "none",
  response_format: null,
  functions: null,
  function_call: "none",
  modalities: null,
  audio: null,
  prediction: null,
  reasoning_effort: null,
  web_search_options: null,
};
const MAPPED = new Set([
  "model",
  "messages",
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "n",
  "seed",
  "top_k",
  "typical_p",
  "repetition_penalty",
  "num_beams",
  "do_sample",
  "dtype",
  "quantize_bits",
]);
/** With the u flag a surrogate pair is one code point, so only unpaired surrogates match. */
const LONE_SURROGATE = /\p{Cs}/u;
const ROLES = new Set(["system", "user", "assistant", "developer"]);

export interface MappedTask {
  task: GptTask;
  /** The seed the task runs with (chosen by the bridge when the request has none). */
  seed: number;
}

/**
 * Turns an OpenAI chat request into a Triad GPT task. Parameters that would change the output but that Triad
 * cannot honour are refused with a 400 naming them, never silently dropped. Range checks on the generation
 * settings are left to the task validator, whose message names each field.
 */
export function requestToTask(body: unknown): MappedTask {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw invalidRequest("the request body must be a JSON object", null, "invalid_json");
  const request = body as ChatCompletionRequest;
  for (const [key, value] of Object.entries(request)) {
    if (MAPPED.has(key) || value === undefined) continue;
    // Object.hasOwn, not `in`: a key like "constructor" or "toString" must not find Object.prototype's members.
    if (Object.hasOwn(HARMLESS, key)) {
      const problem = value === null ? null : HARMLESS[key]!(value);
      if (problem === null) continue;
      throw invalidRequest(`'${key}' ${problem}`, key);
    }
    if (Object.hasOwn(NEUTRAL, key)) {
      if (isNeutral(value, NEUTRAL[key])) continue;
      throw invalidRequest(`'${key}' is not supported by Triad (only its default value is accepted)`, key, "unsupported_parameter");
    }
    throw invalidRequest(`Unrecognized request argument supplied: ${key}`, key, "unknown_parameter");
  }
  if (typeof request.model !== "string" || request.model === "") throw invalidRequest("'model' is required and must be a string", "model");
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    throw invalidRequest("'messages' must be a non-empty array", "messages");
  }
  const messages = request.messages.map((message, i) => {
    if (typeof message !== "object" || message === null || !ROLES.has(message.role)) {
      throw invalidRequest(`'messages[${i}].role' must be one of system, developer, user, assistant`, `messages[${i}].role`);
    }
    for (const [key, value] of Object.entries(message)) {
      if (key === "role" || key === "content" || (NEUTRAL_MESSAGE_FIELDS.has(key) && isNeutral(value, null))) continue;
      const param = `messages[${i}].${key}`;
      if (key === "name" || NEUTRAL_MESSAGE_FIELDS.has(key)) {
        throw invalidRequest(
          `'${param}' is not supported by Triad (the prompt would not say what the request said)`,
          param,
          "unsupported_parameter",
        );
      }
      throw invalidRequest(`Unrecognized message field supplied: ${param}`, param, "unknown_parameter");
    }
    const role = (message.role === "developer" ? "system" : message.role) as GptTask["messages"][number]["role"];
    const content = textContent(message.content, i);
    // A lone UTF-16 surrogate has no UTF-8 encoding: the task bytes would not say what the request said.
    if (LONE_SURROGATE.test(content)) {
      throw invalidRequest(`'messages[${i}].content' contains a lone UTF-16 surrogate (invalid Unicode)`, `messages[${i}].content`);
    }
    return { role, content };
  });
  if (request.stream_options != null && request.stream !== true) {
    throw invalidRequest("'stream_options' is only allowed when 'stream' is true", "stream_options");
  }

  const generation: NonNullable<GptTask["generation_config"]> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens != null) generation.max_new_tokens = maxTokens;
  if (request.n != null) generation.num_return_sequences = request.n;
  if (request.top_p != null) generation.top_p = request.top_p;
  for (const key of ["top_k", "typical_p", "repetition_penalty", "num_beams", "do_sample"] as const) {
    if (request[key] !== undefined) (generation as Record<string, unknown>)[key] = request[key];
  }
  // OpenAI samples by default (temperature 1, no top-k); temperature 0 asks for greedy decoding. An explicit
  // do_sample, or beam search, is taken as given.
  const beamSearch = (request.num_beams ?? 1) > 1;
  if (request.do_sample === undefined) generation.do_sample = !beamSearch && request.temperature !== 0;
  if (request.temperature != null && (request.temperature !== 0 || request.do_sample !== undefined))
    generation.temperature = request.temperature;
  if (generation.do_sample && request.top_k === undefined) generation.top_k = 0;
  const seed = request.seed ?? randomSeed();
  const task: GptTask = { model: request.model, messages, seed, generation_config: generation };
  if (request.dtype !== undefined) task.dtype = request.dtype;
  if (request.quantize_bits !== undefined) task.quantize_bits = request.quantize_bits;
  return { task, seed };
}

function isNeutral(value: unknown, neutral: unknown): boolean {
  if (value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return value === neutral;
}

/** A message's text: a string, or OpenAI's content parts of type "text" (joined). Images and audio are refused. */
function textContent(content: unknown, index: number): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part, j) => {
        const textOnly = isPlainObject(part) && Object.keys(part).every((key) => key === "type" || key === "text");
        if (textOnly && part.type === "text" && typeof part.text === "string") return part.text;
        throw invalidRequest(`'messages[${index}].content[${j}]': only text parts are supported`, `messages[${index}].content`);
      })
      .join("");
  }
  throw invalidRequest(`'messages[${index}].content' must be a string or an array of text parts`, `messages[${index}].content`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** OpenAI's metadata: at most 16 string values, keys up to 64 characters, values up to 512. */
function metadataProblem(value: unknown): string | null {
  const rule = "must be an object of at most 16 string values (keys up to 64 characters, values up to 512)";
  if (!isPlainObject(value)) return rule;
  const entries = Object.entries(value);
  const fits = entries.every(([key, item]) => key.length <= 64 && typeof item === "string" && item.length <= 512);
  return entries.length <= 16 && fits ? null : rule;
}

/** A uniformly random seed in the task format's range (non-negative 53-bit safe integer). */
function randomSeed(): number {
  return Number(randomBytes(8).readBigUInt64BE() % BigInt(Number.MAX_SAFE_INTEGER));
}

/** What the chain vouches for, added to every answer. */
/**
 * What the chain vouches for: the task, its nodes, and the three hashes that bind the request (args_hash: keccak256
 * of the task document's bytes), the weights (the registry entry's revision and files digest) and the answer
 * (result_hash: keccak256 of the result document's bytes).
 */
export interface TriadReceipt {
  task_id: string;
  nodes: string[];
  args_hash: string;
  model_revision: string;
  model_digest: string;
  result_hash: string;
  seed: number;
  create_tx: string;
}

/** OpenAI's `system_fingerprint` (the backend configuration behind a seeded answer): the model files' digest. */
export function systemFingerprint(receipt: TriadReceipt): string {
  return `fp_${receipt.model_digest.slice(2, 14)}`;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  system_fingerprint: string | null;
  choices: Array<{ index: number; message: { role: "assistant"; content: string; refusal: null }; finish_reason: string; logprobs: null }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  triad: TriadReceipt;
}

export function completionFromResponse(response: GptResponse, receipt: TriadReceipt, created: number): ChatCompletion {
  return {
    id: `chatcmpl-triad-${receipt.task_id}`,
    object: "chat.completion",
    created,
    model: response.model,
    system_fingerprint: systemFingerprint(receipt),
    choices: response.choices.map((choice) => ({
      index: choice.index,
      message: { role: "assistant", content: choice.message.content, refusal: null },
      finish_reason: choice.finish_reason,
      logprobs: null,
    })),
    usage: { ...response.usage },
    triad: receipt,
  };
}

/** The agreed outcome of a task whose arguments the nodes found invalid. */
export function isTaskError(document: GptResponse | TaskErrorDocument): document is TaskErrorDocument {
  return "error" in document;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint: string | null;
  choices: Array<{ index: number; delta: { role?: "assistant"; content?: string }; finish_reason: string | null; logprobs: null }>;
  usage?: ChatCompletion["usage"] | null;
  triad?: TriadReceipt;
}

/**
 * The verified completion as OpenAI's stream of chunks: per choice a role chunk, a content chunk and a finish chunk,
 * then (stream_options.include_usage) a usage chunk with no choices. The receipt rides on the finish chunks.
 */
export function chunksFromCompletion(completion: ChatCompletion, includeUsage: boolean): ChatCompletionChunk[] {
  const base = {
    id: completion.id,
    object: "chat.completion.chunk" as const,
    created: completion.created,
    model: completion.model,
    system_fingerprint: completion.system_fingerprint,
  };
  const usage = includeUsage ? { usage: null } : {};
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of completion.choices) {
    chunks.push({
      ...base,
      choices: [{ index: choice.index, delta: { role: "assistant", content: "" }, finish_reason: null, logprobs: null }],
      ...usage,
    });
    if (choice.message.content !== "") {
      chunks.push({
        ...base,
        choices: [{ index: choice.index, delta: { content: choice.message.content }, finish_reason: null, logprobs: null }],
        ...usage,
      });
    }
    chunks.push({
      ...base,
      choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason, logprobs: null }],
      ...usage,
      triad: completion.triad,
    });
  }
  if (includeUsage) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}
