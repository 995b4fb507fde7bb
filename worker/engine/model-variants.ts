import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { VARIANT_FILES, VARIANTS, autoVariantOf, variantVramArray, type OnnxVariant, type VariantVram } from "./variants.js";

/** The ONNX variants a local model folder holds (registry order) and the one its config.json makes `auto` run. */
export async function localVariants(dir: string): Promise<{ present: OnnxVariant[]; autoVariant: OnnxVariant }> {
  const config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const files = new Set(await readdir(path.join(dir, "onnx")).catch(() => [] as string[]));
  return { present: VARIANTS.filter((v) => files.has(VARIANT_FILES[v])), autoVariant: autoVariantOf(config) };
}

/**
 * registerModel's `variantVramGb` and `autoVariant` for a local folder whose variants all need `vramGb` (small
 * fixtures). Throws when config.json's auto variant is not among the files.
 */
export async function uniformRegistration(dir: string, vramGb: number): Promise<{ variantVramGb: VariantVram; autoVariant: OnnxVariant }> {
  const { present, autoVariant } = await localVariants(dir);
  if (!present.includes(autoVariant)) throw new Error(`${dir}: config.json's auto variant ${autoVariant} has no file under onnx/`);
  return { variantVramGb: Object.fromEntries(present.map((v) => [v, vramGb])), autoVariant };
}

/** The two registerModel arguments (uint32[5], Variant index) of a per-variant registration. */
export function registrationArgs(registration: { variantVramGb: VariantVram; autoVariant: OnnxVariant }) {
  return [variantVramArray(registration.variantVramGb), VARIANTS.indexOf(registration.autoVariant)] as const;
}
