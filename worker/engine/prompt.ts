import { Environment, Interpreter, Template } from "@huggingface/jinja";
import type { PreTrainedTokenizer } from "@huggingface/transformers";
import { TaskRejection } from "./errors.js";
import type { ChatMessage } from "./types.js";

/**
 * The day a chat template's `strftime_now(format)` sees on every node (transformers.js would give the node's
 * clock and locale). 26 Jul 2024 is the date Llama 3.1's template itself falls back to.
 */
export const PINNED_TEMPLATE_DATE = { year: 2024, month: 7, day: 26 } as const;

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Python's strftime (C locale) on PINNED_TEMPLATE_DATE at 00:00:00; a directive it does not know is refused. */
export function pinnedStrftime(format: string): string {
  const { year, month, day } = PINNED_TEMPLATE_DATE;
  const weekday = WEEKDAYS[new Date(Date.UTC(year, month - 1, day)).getUTCDay()]!;
  const pad = (n: number) => String(n).padStart(2, "0");
  const values: Record<string, string> = {
    Y: String(year),
    y: pad(year % 100),
    m: pad(month),
    d: pad(day),
    e: String(day).padStart(2, " "),
    B: MONTHS[month - 1]!,
    b: MONTHS[month - 1]!.slice(0, 3),
    A: weekday,
    a: weekday.slice(0, 3),
    H: "00",
    M: "00",
    S: "00",
    "%": "%",
  };
  return format.replace(/%(.)/g, (_, directive: string) => {
    const value = values[directive];
    if (value === undefined) throw new Error(`strftime_now: %${directive} is not supported`);
    return value;
  });
}

/** The special-token variables transformers.js gives a chat template (from tokenizer_config.json). */
const SPECIAL_TOKEN_VARIABLES = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

const compiled = new Map<string, Template>();

/**
 * The chat prompt as HF renders it: the model's template (@huggingface/jinja, the engine transformers.js uses)
 * with messages, add_generation_prompt, the special tokens, and jinja's globals, except that strftime_now is
 * pinned to PINNED_TEMPLATE_DATE (transformers.js' own would read the node's clock and locale). A template that
 * raises (raise_exception, e.g. roles that do not alternate) rejects the task: every node renders it alike.
 */
export function renderChatPrompt(tokenizer: PreTrainedTokenizer, messages: ChatMessage[]): string {
  const source = tokenizer.get_chat_template();
  let template = compiled.get(source);
  if (!template) {
    template = new Template(source);
    compiled.set(source, template);
  }
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    raise_exception: (message: string) => {
      throw new Error(message);
    },
    range: pythonRange,
    strftime_now: pinnedStrftime,
    messages,
    add_generation_prompt: true,
    tools: null,
    documents: null,
  };
  const config = (tokenizer as unknown as { config: Record<string, unknown> }).config;
  for (const name of SPECIAL_TOKEN_VARIABLES) {
    const token = specialToken(config[name]);
    if (token) globals[name] = token;
  }
  for (const [name, value] of Object.entries(globals)) env.set(name, value);
  try {
    return new Interpreter(env).run(template.parsed).value as string;
  } catch (error) {
    throw new TaskRejection("invalid_task", `invalid task: $.messages: the model's chat template refused them: ${templateError(error)}`);
  }
}

/**
 * The refusal's text goes into the hashed result. raise_exception, strftime_now and the jinja runtime throw plain
 * Errors whose messages come from the template and the pinned packages; a TypeError or RangeError from the JavaScript
 * engine itself words its message by V8 version (and a stack overflow depends on the stack size), so only its kind
 * is kept.
 */
function templateError(error: unknown): string {
  if (error instanceof Error && error.constructor === Error) return error.message;
  return `the template failed (${error instanceof Error ? error.name : "a non-error was thrown"})`;
}

function specialToken(value: unknown): string | undefined {
  if (typeof value === "string") return value || undefined;
  if (value && typeof value === "object" && (value as { __type?: string }).__type === "AddedToken")
    return (value as { content: string }).content;
  return undefined;
}

/** Python's range(), as jinja's global. */
function pythonRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error("range() step must not be zero");
  const result: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) result.push(i);
  return result;
}

/**
 * Prompt token ids as HF does it: the model's chat template rendered with add_generation_prompt and
 * tokenized WITHOUT adding special tokens again (the template writes them); a model without a template
 * gets its message contents joined with "\n" and tokenized normally.
 */
export function promptTokenIds(tokenizer: PreTrainedTokenizer, messages: ChatMessage[]): number[] {
  if (hasChatTemplate(tokenizer)) return tokenizer.encode(renderChatPrompt(tokenizer, messages), { add_special_tokens: false });
  return tokenizer.encode(messages.map((m) => m.content).join("\n"));
}

export function hasChatTemplate(tokenizer: PreTrainedTokenizer): boolean {
  const template = (tokenizer as unknown as { chat_template?: unknown }).chat_template;
  return typeof template === "string" ? template.length > 0 : template !== null && template !== undefined;
}

/** The HF pipeline convention: decode(prompt + completion) minus decode(prompt), special tokens skipped. */
export function completionText(tokenizer: PreTrainedTokenizer, promptIds: number[], completionIds: number[]): string {
  const prompt = tokenizer.decode(promptIds, { skip_special_tokens: true });
  const full = tokenizer.decode([...promptIds, ...completionIds], { skip_special_tokens: true });
  return full.slice(prompt.length);
}
