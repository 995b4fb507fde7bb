import type { FromSchema, JSONSchema } from "json-schema-to-ts";

/**
 * The GPT task's JSON Schema (validated with ajv in validation.ts) and, derived from it, the task's TypeScript
 * types: each field and generation setting is declared here once. `default` is HF GenerationConfig's default
 * (max_new_tokens: the seed format's 256), applied after the model's own generation_config.json.
 */
export const taskSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://triad.network/schemas/gpt-task.json",
  title: "Triad GPT task",
  type: "object",
  additionalProperties: false,
  required: ["model", "messages", "seed"],
  properties: {
    model: {
      description: "HuggingFace model id (org/name or name); segments start with a letter or digit, so no '..'",
      type: "string",
      pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$",
    },
    messages: {
      type: "array",
      minItems: 1,
      maxItems: 256,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["role", "content"],
        properties: {
          role: {
            enum: ["system", "user", "assistant"],
          },
          content: {
            type: "string",
          },
        },
      },
    },
    generation_config: {
      type: "object",
      additionalProperties: false,
      properties: {
        max_new_tokens: {
          type: "integer",
          minimum: 1,
          default: 256,
        },
        do_sample: {
          type: "boolean",
          default: false,
        },
        num_beams: {
          type: "integer",
          minimum: 1,
          maximum: 16,
          default: 1,
        },
        temperature: {
          type: "number",
          minimum: 0,
          default: 1.0,
        },
        typical_p: {
          type: "number",
          exclusiveMinimum: 0,
          maximum: 1,
          default: 1.0,
        },
        top_k: {
          type: "integer",
          minimum: 0,
          default: 50,
        },
        top_p: {
          type: "number",
          exclusiveMinimum: 0,
          maximum: 1,
          default: 1.0,
        },
        repetition_penalty: {
          type: "number",
          exclusiveMinimum: 0,
          default: 1.0,
        },
        num_return_sequences: {
          type: "integer",
          minimum: 1,
          maximum: 16,
          default: 1,
        },
      },
    },
    seed: {
      type: "integer",
      minimum: 0,
      maximum: 9007199254740991,
    },
    dtype: {
      enum: ["float16", "bfloat16", "float32", "auto"],
    },
    quantize_bits: {
      enum: [4, 8],
    },
  },
} as const satisfies JSONSchema;

/** A task as the schema accepts it. */
export type GptTask = FromSchema<typeof taskSchema, { keepDefaultedPropertiesOptional: true }>;
export type ChatMessage = GptTask["messages"][number];
export type Role = ChatMessage["role"];
export type GenerationConfigInput = NonNullable<GptTask["generation_config"]>;
export type GenerationSetting = keyof GenerationConfigInput;
export type TaskDtype = NonNullable<GptTask["dtype"]>;

const settingSchemas = taskSchema.properties.generation_config.properties;

/** The settings a task can carry, in the schema's order. */
export const GENERATION_SETTINGS = Object.keys(settingSchemas) as GenerationSetting[];

/** Every setting's default from the schema. */
export const GENERATION_DEFAULTS = Object.fromEntries(
  GENERATION_SETTINGS.map((key) => [key, settingSchemas[key].default]),
) as Required<GenerationConfigInput>;
