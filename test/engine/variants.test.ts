/**
 * ONNX variants and the registry's per-variant VRAM (issue 12): what a task's dtype / quantize_bits selects from the
 * registered auto variant alone (what the client computes without the model's files) equals what the node computes
 * from config.json, and the registry checks give deterministic task errors.
 */
import { expect } from "chai";
import { chooseAuto } from "../../tasks/model.js";
import { TaskRejection } from "../../worker/engine/errors.js";
import {
  VARIANTS,
  autoVariantOf,
  chooseVariant,
  formatVariantVram,
  parseVariantVram,
  registeredVariantFor,
  registeredVariants,
  variantForTask,
  variantVramArray,
  variantVramRecord,
} from "../../worker/engine/variants.js";
import type { TaskDtype } from "../../worker/engine/index.js";

const CONFIGS: Array<Record<string, unknown>> = [
  {},
  { torch_dtype: "float16" },
  { torch_dtype: "bfloat16" },
  ...VARIANTS.map((dtype) => ({ "transformers.js_config": { dtype } })),
  { "transformers.js_config": { dtype: "int8" }, torch_dtype: "float16" },
  { "transformers.js_config": { dtype: { model: "q4" } }, torch_dtype: "float16" },
];
const DTYPES: Array<TaskDtype | undefined> = [undefined, "auto", "float32", "float16", "bfloat16"];
const BITS: Array<4 | 8 | undefined> = [undefined, 4, 8];

/**
 * The choice as the engine made it from config.json before the registry recorded an auto variant (kept here,
 * verbatim in substance, as the independent reference the registry-based choice must reproduce).
 */
function referenceChoice(dtype: TaskDtype | undefined, bits: 4 | 8 | undefined, config: Record<string, unknown>): string {
  const jsConfig = config["transformers.js_config"] as { dtype?: unknown } | undefined;
  const named = typeof jsConfig?.dtype === "string" ? jsConfig.dtype : undefined;
  const auto = dtype === undefined || dtype === "auto";
  if (auto && bits === undefined && named !== undefined && (VARIANTS as string[]).includes(named)) return named;
  let precision: string | undefined = dtype;
  if (auto) {
    if (named === "fp16" || named === "q4f16") precision = "float16";
    else if (named !== undefined) precision = "float32";
    else precision = config.torch_dtype === "float16" ? "float16" : "float32";
  }
  if (bits === 8) return precision === "float32" ? "q8" : "none";
  if (bits === 4) return precision === "float32" ? "q4" : precision === "float16" ? "q4f16" : "none";
  return precision === "float32" ? "fp32" : precision === "float16" ? "fp16" : "none";
}

function outcome(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    if (error instanceof TaskRejection) return `${error.code}: ${error.message}`;
    throw error;
  }
}

describe("engine: variants and the registry's VRAM per variant", function () {
  it("the choice from the registered auto variant equals the choice from config.json, for every dtype and quantize_bits", function () {
    for (const config of CONFIGS) {
      const auto = autoVariantOf(config);
      for (const dtype of DTYPES) {
        for (const bits of BITS) {
          const fromConfig = outcome(() => chooseVariant(dtype, bits, config));
          const fromRegistry = outcome(() => variantForTask(dtype, bits, auto));
          const what = `${JSON.stringify(config)} ${dtype} ${bits}`;
          expect(fromRegistry, what).to.deep.equal(fromConfig);
          const expected = referenceChoice(dtype, bits, config);
          const chosen = typeof fromRegistry === "string" ? "none" : (fromRegistry as { variant: string }).variant;
          expect(chosen, what).to.equal(expected);
        }
      }
    }
  });

  it("registeredVariantFor: an unoffered variant is unsupported_variant, a minVramGb below it invalid_task naming both", function () {
    const registered = { variantVramGb: { fp32: 2, q4f16: 1 }, autoVariant: "q4f16" as const };
    expect(registeredVariantFor(undefined, undefined, registered, 1).variant).to.equal("q4f16");
    expect(registeredVariantFor("float32", undefined, registered, 2).variant).to.equal("fp32");
    expect(outcome(() => registeredVariantFor("float16", undefined, registered, 8))).to.equal(
      "unsupported_variant: the registered model offers no fp16 variant (offered: fp32=2,q4f16=1 GB)",
    );
    expect(outcome(() => registeredVariantFor("float32", undefined, registered, 1))).to.equal(
      "invalid_task: variant fp32 needs 2 GB of VRAM (registered); the task was created on chain with minVramGb 1",
    );
  });

  it("converts between the registry's uint32[5] and a per-variant map, and parses --vram", function () {
    expect(variantVramArray({ fp32: 2, q4f16: 1 })).to.deep.equal([2, 0, 0, 0, 1]);
    expect(variantVramRecord([2n, 0n, 0n, 0n, 1n])).to.deep.equal({ fp32: 2, q4f16: 1 });
    expect(registeredVariants({ variantVramGb: [0n, 3n, 0n, 0n, 0n], autoVariant: 1n })).to.deep.equal({
      variantVramGb: { fp16: 3 },
      autoVariant: "fp16",
    });
    expect(parseVariantVram("fp32=2, q4f16=1", "--vram")).to.deep.equal({ fp32: 2, q4f16: 1 });
    expect(formatVariantVram({ q4f16: 1, fp32: 2 })).to.equal("fp32=2,q4f16=1");
    expect(() => parseVariantVram("fp32", "--vram")).to.throw("--vram: expected VARIANT=GB pairs");
    expect(() => parseVariantVram("int4=2", "--vram")).to.throw("--vram: unknown variant int4");
    expect(() => parseVariantVram("fp32=2,fp32=3", "--vram")).to.throw("--vram: variant fp32 given twice");
    expect(() => parseVariantVram("fp32=0", "--vram")).to.throw("--vram: fp32 needs a VRAM between 1 and 4294967295 GB");
  });

  it("`triad model register --auto`: the named offered variant, or the only one offered", function () {
    expect(chooseAuto("", ["fp32"])).to.equal("fp32");
    expect(chooseAuto("q4f16", ["fp32", "q4f16"])).to.equal("q4f16");
    expect(() => chooseAuto("", ["fp32", "q4f16"])).to.throw("--auto must name the variant dtype auto runs (one of fp32, q4f16");
    expect(() => chooseAuto("fp16", ["fp32"])).to.throw("--auto: fp16 is not offered in --vram");
    expect(() => chooseAuto("int4", ["fp32"])).to.throw("--auto: unknown variant int4");
  });
});
