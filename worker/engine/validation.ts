import { Ajv, type ErrorObject } from "ajv";
import { HF_GENERATION_DEFAULTS } from "./generation-config.js";
import { taskSchema } from "./task-schema.js";
import { UNASSIGNED, UNICODE_VERSION } from "./unicode-unassigned.js";
import type { GenerationConfigInput, GptTask, ResolvedGenerationConfig } from "./types.js";
import { describeSchemaError } from "../schema-errors.js";

const ajv = new Ajv({ allErrors: true, strict: true });
const validateSchema = ajv.compile<GptTask>(taskSchema);

/**
 * The most token positions a task may generate: max_new_tokens × max(num_beams, num_return_sequences). Every
 * node applies the same constant before running, so the worst legal task has one size on every card: governance
 * enables a model on a group only if that card runs it well inside the commit window (docs/engine.md, Work bound).
 */
export const MAX_GENERATED_TOKENS = 8192;

/** The most prompt tokens a task may have (prefill work; a model's context may allow more). */
export const MAX_PROMPT_TOKENS = 8192;

/** The task schema has one pattern, the model id. */
const MODEL_ID_RULE = "must be a HuggingFace model id (org/name or name; letters, digits, '.', '_', '-')";

export type ValidationResult = { ok: true; task: GptTask } | { ok: false; message: string };

/** Checks a parsed task against the schema and HF's consistency rules; lists every problem with its JSON path. */
export function validateTask(task: unknown): ValidationResult {
  const schemaErrors = validateSchema(task) ? [] : (validateSchema.errors ?? []);
  const problems = [
    ...schemaErrors.map((error) => describeSchemaError(error, MODEL_ID_RULE)),
    ...consistencyProblems(withHfDefaults(wellTypedSettings(task, schemaErrors))),
    ...textProblems(task),
  ];
  if (problems.length === 0) return { ok: true, task: task as GptTask };
  return { ok: false, message: formatProblems(problems) };
}

export function formatProblems(problems: string[]): string {
  return `invalid task: ${problems.join("; ")}`;
}

/**
 * Rules between settings that HF generate() enforces (it raises on them) or that we do not support.
 * Runs on the fully resolved configuration, so a model's own defaults are checked too.
 */
export function consistencyProblems(config: ResolvedGenerationConfig): string[] {
  const problems: string[] = [];
  const at = "$.generation_config";
  if (config.do_sample && config.temperature === 0) {
    problems.push(`${at}.temperature: must be > 0 when do_sample is true (use do_sample false for greedy decoding)`);
  }
  if (config.do_sample && config.num_beams > 1) {
    problems.push(`${at}.num_beams: beam sampling (do_sample true with num_beams > 1) is not supported`);
  }
  if (!config.do_sample && config.num_beams === 1 && config.num_return_sequences > 1) {
    problems.push(
      `${at}.num_return_sequences: greedy decoding returns exactly 1 sequence (use do_sample or num_beams >= num_return_sequences)`,
    );
  }
  if (config.num_beams > 1 && config.num_return_sequences > config.num_beams) {
    problems.push(`${at}.num_return_sequences: must be <= num_beams (${config.num_beams})`);
  }
  const rows = Math.max(config.num_beams, config.num_return_sequences);
  if (config.max_new_tokens * rows > MAX_GENERATED_TOKENS) {
    problems.push(
      `${at}.max_new_tokens: max_new_tokens × max(num_beams, num_return_sequences) = ${config.max_new_tokens} × ${rows} ` +
        `must be <= ${MAX_GENERATED_TOKENS} (the work bound of a task)`,
    );
  }
  return problems;
}

/**
 * A lone UTF-16 surrogate (JSON allows "\ud800") has no UTF-8 encoding: the tokenizer would throw on it. A code point
 * that UNICODE_VERSION leaves unassigned may be a letter to a newer runtime (Node 22.23's Unicode 17 vs 22.13's 16):
 * a pre-tokenizer's \p{L}, a normalizer or a template's upper() would then treat it differently on different nodes.
 */
function textProblems(task: unknown): string[] {
  const messages = (task as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages)) return [];
  return messages.flatMap((message, i) => {
    const content = (message as { content?: unknown } | null)?.content;
    if (typeof content !== "string") return [];
    const at = `$.messages[${i}].content`;
    if (/\p{Cs}/u.test(content)) return [`${at}: must be well-formed Unicode (it has a lone surrogate such as \\ud800)`];
    const unassigned = firstUnassigned(content);
    if (unassigned === undefined) return [];
    const name = `U+${unassigned.toString(16).toUpperCase().padStart(4, "0")}`;
    return [`${at}: ${name} is not a character of Unicode ${UNICODE_VERSION} (newer characters read differently across runtimes)`];
  });
}

/** The first code point of `text` that UNASSIGNED lists (binary search over its ranges). */
function firstUnassigned(text: string): number | undefined {
  for (const char of text) {
    const codePoint = char.codePointAt(0)!;
    if (codePoint < UNASSIGNED[0]!) continue;
    let low = 0;
    let high = UNASSIGNED.length / 2 - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (UNASSIGNED[2 * middle]! <= codePoint) low = middle;
      else high = middle - 1;
    }
    if (UNASSIGNED[2 * low]! <= codePoint && codePoint <= UNASSIGNED[2 * low + 1]!) return codePoint;
  }
  return undefined;
}

function withHfDefaults(settings: GenerationConfigInput): ResolvedGenerationConfig {
  return { ...HF_GENERATION_DEFAULTS, eos_token_ids: [], ...settings };
}

/** The generation settings that passed the schema, so consistency rules are checked even beside other errors. */
function wellTypedSettings(task: unknown, schemaErrors: ErrorObject[]): GenerationConfigInput {
  const settings = (task as { generation_config?: unknown } | null)?.generation_config;
  if (typeof settings !== "object" || settings === null || Array.isArray(settings)) return {};
  const invalid = new Set(schemaErrors.map((e) => e.instancePath));
  return Object.fromEntries(
    Object.entries(settings).filter(([key]) => key in HF_GENERATION_DEFAULTS && !invalid.has(`/generation_config/${key}`)),
  );
}
