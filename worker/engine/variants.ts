import type { TaskDtype } from "./types.js";
import { TaskRejection } from "./errors.js";

/** transformers.js' ONNX variant names, and the file each one lives in under `onnx/`. */
export const VARIANT_FILES = {
  fp32: "model.onnx",
  fp16: "model_fp16.onnx",
  q8: "model_quantized.onnx",
  q4: "model_q4.onnx",
  q4f16: "model_q4f16.onnx",
} as const;

export type OnnxVariant = keyof typeof VARIANT_FILES;

export interface VariantChoice {
  variant: OnnxVariant;
  /** Path relative to the model directory. */
  file: string;
}

/**
 * Maps a task's dtype / quantize_bits to a transformers.js ONNX variant. `auto` takes the variant the model's
 * `transformers.js_config.dtype` names (fp32, fp16, q8, q4, q4f16); with quantize_bits, or without such a name,
 * the precision it implies, else its `torch_dtype` (float16 -> fp16, anything else -> fp32).
 * Throws TaskRejection("unsupported_variant") for a combination no variant implements.
 */
export function chooseVariant(
  dtype: TaskDtype | undefined,
  quantizeBits: 4 | 8 | undefined,
  modelConfig: Record<string, unknown>,
): VariantChoice {
  const auto = dtype === undefined || dtype === "auto";
  const named = jsConfigDtype(modelConfig);
  // `auto` without quantize_bits is the variant the export names itself (e.g. q4f16), as transformers.js loads it.
  if (auto && quantizeBits === undefined && named !== undefined && named in VARIANT_FILES) {
    return { variant: named as OnnxVariant, file: `onnx/${VARIANT_FILES[named as OnnxVariant]}` };
  }
  const precision = auto ? autoPrecision(modelConfig) : dtype;
  const variant = variantFor(precision, quantizeBits);
  if (!variant) {
    const bits = quantizeBits === undefined ? "no quantization" : `quantize_bits ${quantizeBits}`;
    throw new TaskRejection("unsupported_variant", `dtype ${precision} with ${bits} has no ONNX variant`);
  }
  return { variant, file: `onnx/${VARIANT_FILES[variant]}` };
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

function autoPrecision(modelConfig: Record<string, unknown>): "float32" | "float16" {
  const jsDtype = jsConfigDtype(modelConfig);
  if (jsDtype === "fp16" || jsDtype === "q4f16") return "float16";
  if (jsDtype !== undefined) return "float32";
  return modelConfig.torch_dtype === "float16" ? "float16" : "float32";
}
