import type { TaskDtype } from "./types.js";
import { TaskRejection } from "./errors.js";

/**
 * transformers.js' ONNX variant names, and the file each one lives in under `onnx/`. The key order is the on-chain
 * order too (IModelRegistry.Variant, `variantVramGb` indexes): fp32, fp16, q8, q4, q4f16.
 */
export const VARIANT_FILES = {
  fp32: "model.onnx",
  fp16: "model_fp16.onnx",
  q8: "model_quantized.onnx",
  q4: "model_q4.onnx",
  q4f16: "model_q4f16.onnx",
} as const;

export type OnnxVariant = keyof typeof VARIANT_FILES;

/** The variants in registry order: `VARIANTS[i]` is IModelRegistry.Variant(i). */
export const VARIANTS = Object.keys(VARIANT_FILES) as OnnxVariant[];

/** VRAM (GB) per offered variant; a variant absent (or 0) is not offered. */
export type VariantVram = Partial<Record<OnnxVariant, number>>;

/** What the registry says about a model's variants: the VRAM each offered one needs and the one `auto` runs. */
export interface RegisteredVariants {
  variantVramGb: VariantVram;
  autoVariant: OnnxVariant;
}

export interface VariantChoice {
  variant: OnnxVariant;
  /** Path relative to the model directory. */
  file: string;
}

/**
 * Maps a task's dtype / quantize_bits to a transformers.js ONNX variant, for a model whose config is `modelConfig`.
 * `auto` takes the variant the model's `transformers.js_config.dtype` names (fp32, fp16, q8, q4, q4f16); with
 * quantize_bits, or without such a name, the precision it implies, else its `torch_dtype` (float16 -> fp16,
 * anything else -> fp32). Throws TaskRejection("unsupported_variant") for a combination no variant implements.
 */
export function chooseVariant(
  dtype: TaskDtype | undefined,
  quantizeBits: 4 | 8 | undefined,
  modelConfig: Record<string, unknown>,
): VariantChoice {
  return variantForTask(dtype, quantizeBits, autoVariantOf(modelConfig));
}

/**
 * The same choice from the auto variant alone (what the registry records, so a client without the model's files
 * computes what every node runs): `auto` without quantize_bits is `autoVariant`; otherwise the precision (auto:
 * float16 when `autoVariant` is fp16 or q4f16, else float32) with quantize_bits picks fp32, fp16, q8, q4 or q4f16.
 */
export function variantForTask(dtype: TaskDtype | undefined, quantizeBits: 4 | 8 | undefined, autoVariant: OnnxVariant): VariantChoice {
  const auto = dtype === undefined || dtype === "auto";
  if (auto && quantizeBits === undefined) return { variant: autoVariant, file: variantFile(autoVariant) };
  const precision = auto ? (autoVariant === "fp16" || autoVariant === "q4f16" ? "float16" : "float32") : dtype;
  const variant = variantFor(precision, quantizeBits);
  if (!variant) {
    const bits = quantizeBits === undefined ? "no quantization" : `quantize_bits ${quantizeBits}`;
    throw new TaskRejection("unsupported_variant", `dtype ${precision} with ${bits} has no ONNX variant`);
  }
  return { variant, file: variantFile(variant) };
}

/**
 * The variant a task selects on a registered model, checked against the registry entry: a variant it does not
 * offer is TaskRejection("unsupported_variant"); one whose registered VRAM is above the task's on-chain
 * `minVramGb` is TaskRejection("invalid_task") naming the variant, its VRAM and the task's minVramGb (the creator
 * under-declared; every node reads the same chain, so all agree).
 */
export function registeredVariantFor(
  dtype: TaskDtype | undefined,
  quantizeBits: 4 | 8 | undefined,
  registered: RegisteredVariants,
  minVramGb?: number,
): VariantChoice {
  const choice = variantForTask(dtype, quantizeBits, registered.autoVariant);
  const vram = registered.variantVramGb[choice.variant] ?? 0;
  if (vram === 0) {
    throw new TaskRejection(
      "unsupported_variant",
      `the registered model offers no ${choice.variant} variant (offered: ${formatVariantVram(registered.variantVramGb)} GB)`,
    );
  }
  if (minVramGb !== undefined && minVramGb < vram) {
    throw new TaskRejection(
      "invalid_task",
      `variant ${choice.variant} needs ${vram} GB of VRAM (registered); the task was created on chain with minVramGb ${minVramGb}`,
    );
  }
  return choice;
}

/**
 * The variant a task with dtype `auto` and no quantize_bits runs on a model with this config.json: the one its
 * `transformers.js_config.dtype` names, else fp16 for `torch_dtype` float16, else fp32.
 */
export function autoVariantOf(modelConfig: Record<string, unknown>): OnnxVariant {
  const named = jsConfigDtype(modelConfig);
  if (named !== undefined && isVariant(named)) return named;
  return named === undefined && modelConfig.torch_dtype === "float16" ? "fp16" : "fp32";
}

export function isVariant(name: string): name is OnnxVariant {
  return (VARIANTS as string[]).includes(name);
}

/** The registry's `uint32[5] variantVramGb` from a per-variant map (absent = 0 = not offered). */
export function variantVramArray(vram: VariantVram): [number, number, number, number, number] {
  return VARIANTS.map((v) => vram[v] ?? 0) as [number, number, number, number, number];
}

/** The per-variant map (offered variants only) from the registry's `variantVramGb` array. */
export function variantVramRecord(array: ReadonlyArray<number | bigint>): VariantVram {
  const record: VariantVram = {};
  VARIANTS.forEach((variant, i) => {
    const vram = Number(array[i] ?? 0);
    if (vram > 0) record[variant] = vram;
  });
  return record;
}

/** The registry entry's variants as read from `getModel` (variantVramGb array and autoVariant index). */
export function registeredVariants(entry: {
  variantVramGb: ReadonlyArray<number | bigint>;
  autoVariant: number | bigint;
}): RegisteredVariants {
  return { variantVramGb: variantVramRecord(entry.variantVramGb), autoVariant: VARIANTS[Number(entry.autoVariant)]! };
}

/**
 * Parses `fp32=2,q4f16=1` (VRAM in GB per variant). Throws naming `field` and the rule for anything else: an
 * unknown variant, a repeated one, a VRAM that is not a positive integer, or an empty list.
 */
export function parseVariantVram(text: string, field: string): VariantVram {
  const record: VariantVram = {};
  for (const part of text.split(",").map((p) => p.trim())) {
    const match = /^([a-z0-9]+)=(\d+)$/.exec(part);
    if (!match) throw new Error(`${field}: expected VARIANT=GB pairs separated by commas, e.g. fp32=2,q4f16=1 (got "${part}")`);
    const [, name, gb] = match as unknown as [string, string, string];
    if (!isVariant(name)) throw new Error(`${field}: unknown variant ${name} (known: ${VARIANTS.join(", ")})`);
    if (record[name] !== undefined) throw new Error(`${field}: variant ${name} given twice`);
    const vram = Number(gb);
    if (!Number.isSafeInteger(vram) || vram < 1 || vram > 0xffff_ffff) {
      throw new Error(`${field}: ${name} needs a VRAM between 1 and 4294967295 GB (got ${gb})`);
    }
    record[name] = vram;
  }
  return record;
}

/** `fp32=2,q4f16=1`: the form parseVariantVram reads and `triad model list` prints. */
export function formatVariantVram(vram: VariantVram): string {
  return VARIANTS.filter((v) => (vram[v] ?? 0) > 0)
    .map((v) => `${v}=${vram[v]}`)
    .join(",");
}

/** The variants whose ONNX graph file is listed (in registry order). */
export function variantsIn(files: Iterable<string>): OnnxVariant[] {
  const present = new Set(files);
  return VARIANTS.filter((v) => present.has(variantFile(v)));
}

function variantFile(variant: OnnxVariant): string {
  return `onnx/${VARIANT_FILES[variant]}`;
}

function variantFor(precision: string, quantizeBits: 4 | 8 | undefined): OnnxVariant | undefined {
  if (quantizeBits === 8) return precision === "float32" ? "q8" : undefined;
  if (quantizeBits === 4) return precision === "float32" ? "q4" : precision === "float16" ? "q4f16" : undefined;
  if (precision === "float32") return "fp32";
  if (precision === "float16") return "fp16";
  return undefined; // bfloat16: transformers.js ships no bf16 ONNX variant
}

function jsConfigDtype(modelConfig: Record<string, unknown>): string | undefined {
  const jsConfig = modelConfig["transformers.js_config"] as { dtype?: unknown } | undefined;
  return typeof jsConfig?.dtype === "string" ? jsConfig.dtype : undefined;
}
