import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import canonicalize from "canonicalize";
import { keccak256, toUtf8Bytes } from "ethers";
import { sha256File } from "./file-hash.js";
import { VARIANT_FILES, type OnnxVariant } from "./variants.js";

/**
 * The files of a model (one or more ONNX variants and the configs the engine reads), each with its size and
 * sha256. Its digest, keccak256 of its RFC 8785 canonical JSON, is what governance registers for a model id.
 */
export interface ModelManifest {
  files: Record<string, ManifestEntry>;
}

export interface ManifestEntry {
  sha256: string;
  size: number;
}

export type ManifestDigest = `0x${string}`;

/** The non-ONNX files the engine reads (configs via @huggingface/transformers' AutoTokenizer and our loader). */
export const CONFIG_FILES = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"] as const;
/** Of those, the ones every model has. */
export const REQUIRED_CONFIG_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json"] as const;

/** A local file differs from the manifest (content, size, missing, or read by the engine but not registered). */
export class ModelMismatch extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = "ModelMismatch";
  }
}

/** keccak256 of the manifest's RFC 8785 canonical JSON. */
export function manifestDigest(manifest: ModelManifest): ManifestDigest {
  return keccak256(toUtf8Bytes(canonicalManifest(manifest))) as ManifestDigest;
}

export function canonicalManifest(manifest: ModelManifest): string {
  return canonicalize(manifest)!;
}

/** Checks a parsed JSON document is a manifest (file paths relative, sha256 64 hex digits, sizes integers). */
export function parseManifest(value: unknown): ModelManifest {
  const files = (value as { files?: unknown } | null)?.files;
  if (typeof files !== "object" || files === null || Array.isArray(files)) throw new Error("manifest: $.files must be an object");
  if (Object.keys(value as object).some((key) => key !== "files")) throw new Error("manifest: only the field $.files is allowed");
  for (const [file, entry] of Object.entries(files)) {
    if (!isRelativePath(file)) throw new Error(`manifest: $.files[${JSON.stringify(file)}]: must be a relative path inside the model`);
    const { sha256, size, ...rest } = (entry ?? {}) as Record<string, unknown>;
    if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) {
      throw new Error(`manifest: $.files[${JSON.stringify(file)}].sha256: must be 64 lowercase hex digits`);
    }
    if (!Number.isSafeInteger(size) || (size as number) < 0) {
      throw new Error(`manifest: $.files[${JSON.stringify(file)}].size: must be a non-negative integer`);
    }
    if (Object.keys(rest).length > 0) throw new Error(`manifest: $.files[${JSON.stringify(file)}]: only sha256 and size are allowed`);
  }
  return value as ModelManifest;
}

/** The files of one ONNX variant: the graph and its external data (`model.onnx_data`, `model.onnx_data_1`, ...). */
export async function variantFiles(modelDir: string, variant: OnnxVariant): Promise<string[]> {
  const file = `onnx/${VARIANT_FILES[variant]}`;
  const onnxDir = await readdir(path.join(modelDir, "onnx")).catch(() => [] as string[]);
  const external = onnxDir
    .filter((name) => name === `${VARIANT_FILES[variant]}_data` || name.startsWith(`${VARIANT_FILES[variant]}_data_`))
    .sort()
    .map((name) => `onnx/${name}`);
  return [file, ...external];
}

/**
 * The manifest of a local model folder: the config files present and every file of the given ONNX variants
 * (default: every variant present). README, licences, safetensors and other files the engine never reads are
 * left out, so they can differ between nodes.
 */
export async function computeManifest(modelDir: string, variants?: OnnxVariant[]): Promise<ModelManifest> {
  const chosen = variants ?? (await presentVariants(modelDir));
  const names: string[] = [...CONFIG_FILES];
  for (const variant of chosen) names.push(...(await variantFiles(modelDir, variant)));
  const files: Record<string, ManifestEntry> = {};
  for (const name of names) {
    const info = await stat(path.join(modelDir, name)).catch(() => undefined);
    if (!info?.isFile()) {
      if ((CONFIG_FILES as readonly string[]).includes(name) && !(REQUIRED_CONFIG_FILES as readonly string[]).includes(name)) continue;
      throw new ModelMismatch(name, "missing");
    }
    files[name] = { sha256: await sha256File(path.join(modelDir, name)), size: info.size };
  }
  return { files: sortedFiles(files) };
}

/**
 * Verifies a local folder against a manifest: each listed file exists with its size and sha256, every file of
 * a listed ONNX variant (external data included) is listed, and no config file the engine reads is present
 * without being listed (it would change the output). Throws ModelMismatch naming the first file that differs.
 */
export async function verifyModelDir(modelDir: string, manifest: ModelManifest): Promise<void> {
  const variants = (Object.entries(VARIANT_FILES) as [OnnxVariant, string][])
    .filter(([, file]) => manifest.files[`onnx/${file}`] !== undefined)
    .map(([variant]) => variant);
  const local: ModelManifest = { files: {} };
  const names = new Set([...Object.keys(manifest.files), ...CONFIG_FILES]);
  for (const variant of variants) for (const file of await variantFiles(modelDir, variant)) names.add(file);
  for (const name of [...names].sort()) {
    const info = await stat(path.join(modelDir, name)).catch(() => undefined);
    if (info?.isFile()) local.files[name] = { sha256: await sha256File(path.join(modelDir, name)), size: info.size };
  }
  compareManifests(manifest, local);
}

async function presentVariants(modelDir: string): Promise<OnnxVariant[]> {
  const present: OnnxVariant[] = [];
  for (const [variant, file] of Object.entries(VARIANT_FILES) as [OnnxVariant, string][]) {
    if ((await stat(path.join(modelDir, "onnx", file)).catch(() => undefined))?.isFile()) present.push(variant);
  }
  return present;
}

function sortedFiles(files: Record<string, ManifestEntry>): Record<string, ManifestEntry> {
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function isRelativePath(file: string): boolean {
  return (
    file.length > 0 && !file.startsWith("/") && !file.includes("\\") && file.split("/").every((s) => s !== "" && s !== "." && s !== "..")
  );
}

/**
 * Compares the entries two manifests have for `files` (default: every file either lists); throws ModelMismatch
 * for the first file (in path order) that one lacks or that differs in size or sha256.
 */
export function compareManifests(expected: ModelManifest, actual: ModelManifest, files?: string[]): void {
  const names = files ?? [...new Set([...Object.keys(expected.files), ...Object.keys(actual.files)])];
  for (const file of [...names].sort()) {
    const want = expected.files[file];
    const have = actual.files[file];
    if (!want && !have) continue;
    if (!want) throw new ModelMismatch(file, "present but not in the manifest (the engine would read it)");
    if (!have) throw new ModelMismatch(file, "missing");
    if (have.size !== want.size) throw new ModelMismatch(file, `${have.size} bytes, the manifest says ${want.size}`);
    if (have.sha256 !== want.sha256) throw new ModelMismatch(file, `sha256 ${have.sha256}, the manifest says ${want.sha256}`);
  }
}
