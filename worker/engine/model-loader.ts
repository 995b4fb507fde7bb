import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { AutoTokenizer, env, type PreTrainedTokenizer } from "@huggingface/transformers";
import * as ort from "onnxruntime-node";
import { deviceInfo, type DeviceInfo } from "./device-info.js";
import { EngineFault, TaskRejection } from "./errors.js";
import {
  ensureDeviceAvailable,
  kvCacheLocation,
  sessionOptions,
  type Device,
  type KvCacheLocation,
  type ProviderSettings,
} from "./execution-provider.js";
import { HubFileMissing, downloadFromHub, type ProgressReporter } from "./hub-download.js";
import {
  CONFIG_FILES,
  REQUIRED_CONFIG_FILES,
  ModelMismatch,
  compareManifests,
  computeManifest,
  manifestDigest,
  type ManifestDigest,
  type ModelManifest,
} from "./model-manifest.js";
import { chooseVariant, registeredVariantFor, type OnnxVariant, type RegisteredVariants } from "./variants.js";
import type { TaskDtype } from "./types.js";

export type { Device } from "./execution-provider.js";
export type SessionSettings = ProviderSettings;

export interface LoadedModel {
  id: string;
  variant: OnnxVariant;
  session: ort.InferenceSession;
  /** The provider the session was created with (no other was offered to onnxruntime). */
  executionProvider: Device;
  /** Where `session` leaves present.* outputs; logits always come back to host memory. */
  kvCacheLocation: KvCacheLocation;
  deviceInfo: DeviceInfo;
  settings: SessionSettings;
  /** Lazily created second session whose KV cache comes back to host memory (see hostKvSession). */
  hostKvSessionPromise?: Promise<ort.InferenceSession>;
  tokenizer: PreTrainedTokenizer;
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  /** Longest sequence (prompt + generated) the model accepts. */
  contextLength: number;
  numLayers: number;
  /** Element type of the KV cache tensors (float32 or float16). */
  kvType: "float32" | "float16";
  kvShape: { heads: number; headDim: number };
  hasPositionIds: boolean;
  hasNumLogitsToKeep: boolean;
  modelSha256: string;
  tokenizerSha256: string;
  /**
   * The registered digest the files were verified against, or (unpinned) the digest of the local manifest of
   * the configs and this variant's files.
   */
  modelDigest: ManifestDigest;
  pinned: boolean;
  revision?: string;
  modelFile: string;
  /** Absolute path of the ONNX file. */
  modelPath: string;
}

export interface LoadRequest {
  model: string;
  dtype?: TaskDtype;
  quantize_bits?: 4 | 8;
}

/** What governance registered for a model id: its files' manifest digest, and where the hub has them. */
export interface PinnedModel {
  /** keccak256 of the manifest's canonical JSON (manifestDigest). */
  digest: ManifestDigest;
  /** The manifest itself, when known: lets the engine name the file that differs. */
  manifest?: ModelManifest;
  /** Hub revision (commit) to download missing files from; default "main". */
  revision?: string;
  /**
   * The registered variants: the variant a task selects is computed from the registered auto variant (not the
   * local config.json), and one the entry does not offer is `unsupported_variant`.
   */
  variants?: RegisteredVariants;
}

/** Where missing files may come from and what the local files must match. */
export interface ModelSource {
  allowRemoteModels?: boolean;
  pinned?: PinnedModel;
  onProgress?: ProgressReporter;
}

/**
 * Loads a model's tokenizer, configs and ONNX session from `<modelsDir>/<model id>` (or the hub when allowed).
 * A pinned model's files are checked against its registered digest first: a mismatch is an EngineFault (the
 * node holds the wrong files; it must not commit), never a task result.
 */
export async function loadModel(
  request: LoadRequest,
  modelsDir: string,
  source: boolean | ModelSource,
  settings: SessionSettings,
): Promise<LoadedModel> {
  const { allowRemoteModels = false, pinned, onProgress } = typeof source === "boolean" ? { allowRemoteModels: source } : source;
  const modelDir = path.join(modelsDir, request.model);
  const hub = { revision: pinned?.revision, manifest: pinned?.manifest, onProgress };
  if (pinned?.manifest && manifestDigest(pinned.manifest) !== pinned.digest) {
    throw new EngineFault(`the manifest given for ${request.model} does not hash to its registered digest ${pinned.digest}`);
  }
  if (!(await isFile(path.join(modelDir, "config.json")))) {
    if (!allowRemoteModels) {
      // A registered model exists by definition: lacking it is this node's fault, not the task's.
      if (pinned) throw new EngineFault(`registered model ${request.model} is not in ${modelsDir} (run: triad model pull)`);
      throw new TaskRejection("model_not_found", `model ${request.model} is not available on this node`);
    }
    await downloadFromHub(request.model, modelDir, [...REQUIRED_CONFIG_FILES], ["generation_config.json"], hub).catch((error) => {
      // A registered model missing on the hub is this node's problem (its mirror), not the task's.
      if (error instanceof HubFileMissing && !pinned)
        throw new TaskRejection("model_not_found", `model ${request.model} is not on the hub`);
      throw new EngineFault(`could not download ${request.model}: ${(error as Error).message}`, { cause: error });
    });
  }
  const config = await readJson(path.join(modelDir, "config.json"));
  // A registered model: the registry's figures rule (every node reads the same chain), config.json's choice does not.
  const { variant, file } = pinned?.variants
    ? registeredVariantFor(request.dtype, request.quantize_bits, pinned.variants)
    : chooseVariant(request.dtype, request.quantize_bits, config);
  const modelFile = path.join(modelDir, file);
  const noVariant = () => new TaskRejection("unsupported_variant", `model ${request.model} has no ${variant} ONNX variant (${file})`);
  // A registered model has exactly the variants its manifest lists, on every honest node.
  if (pinned?.manifest && !pinned.manifest.files[file]) throw noVariant();
  if (allowRemoteModels && (pinned?.manifest || !(await isFile(modelFile)))) {
    // External data first: a present graph file then means its weights are complete too.
    await downloadFromHub(request.model, modelDir, [], externalDataFiles(file, pinned?.manifest), hub)
      .then(() => downloadFromHub(request.model, modelDir, [file], [], hub))
      .catch((error) => {
        if (error instanceof HubFileMissing && !pinned) throw noVariant();
        throw new EngineFault(`could not download ${request.model}/${file}: ${(error as Error).message}`, { cause: error });
      });
  } else if (!(await isFile(modelFile))) {
    if (pinned) throw new EngineFault(`registered model ${request.model} lacks its ${variant} file ${file} on this node`);
    throw noVariant();
  }
  const files = await computeManifest(modelDir, [variant]).catch((error) => {
    throw new EngineFault(`could not read the files of ${request.model}: ${(error as Error).message}`, { cause: error });
  });
  const digest = pinned ? await checkPinned(request.model, modelDir, pinned, files, file) : manifestDigest(files);
  const generationConfig = (await readJsonIfPresent(path.join(modelDir, "generation_config.json"))) ?? {};

  await ensureDeviceAvailable(settings.device);
  const layersInConfig = configuredLayers(config);
  if (layersInConfig === undefined && kvCacheLocation(settings.device) !== "cpu") {
    throw new EngineFault(`config.json of ${request.model} names no num_hidden_layers, needed to keep the KV cache on ${settings.device}`);
  }
  try {
    const tokenizer = await loadTokenizer(request.model, modelsDir);
    const session = await ort.InferenceSession.create(modelFile, sessionOptions(settings, layersInConfig ?? 0));
    const numLayers = session.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
    if (layersInConfig !== undefined && layersInConfig !== numLayers) {
      await session.release();
      throw new Error(`config.json says ${layersInConfig} layers, the ONNX graph has ${numLayers}`);
    }
    const kvMeta = session.inputMetadata.find((m) => m.name === "past_key_values.0.key");
    const kvType = kvMeta?.isTensor && kvMeta.type === "float16" ? "float16" : "float32";
    return {
      id: request.model,
      variant,
      session,
      executionProvider: settings.device,
      kvCacheLocation: kvCacheLocation(settings.device),
      deviceInfo: await deviceInfo(settings.device),
      settings,
      tokenizer,
      config,
      generationConfig,
      contextLength: contextLength(config),
      numLayers,
      kvType,
      kvShape: kvShape(config),
      hasPositionIds: session.inputNames.includes("position_ids"),
      hasNumLogitsToKeep: session.inputNames.includes("num_logits_to_keep"),
      modelSha256: files.files[file]!.sha256,
      tokenizerSha256: files.files["tokenizer.json"]!.sha256,
      modelDigest: digest,
      pinned: pinned !== undefined,
      revision: pinned?.revision,
      modelFile: `${request.model}/${file}`,
      modelPath: modelFile,
    };
  } catch (error) {
    throw new EngineFault(`could not load ${request.model} (${variant}): ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A session over the same file and provider whose outputs all come back to host memory, for code that must
 * read or reorder cache rows on the host (beam search). Created on first use; the same session as
 * `model.session` where the cache is in host memory anyway.
 */
export function hostKvSession(model: LoadedModel): Promise<ort.InferenceSession> {
  if (model.kvCacheLocation === "cpu") return Promise.resolve(model.session);
  model.hostKvSessionPromise ??= ort.InferenceSession.create(model.modelPath, sessionOptions(model.settings, model.numLayers, false)).catch(
    (error) => {
      model.hostKvSessionPromise = undefined;
      throw new EngineFault(`could not open a host-cache session for ${model.id}: ${(error as Error).message}`, { cause: error });
    },
  );
  return model.hostKvSessionPromise;
}

/** Releases the model's sessions (device tensors from them must have been disposed first). */
export async function releaseModel(model: LoadedModel): Promise<void> {
  const hostSession = model.hostKvSessionPromise;
  model.hostKvSessionPromise = undefined;
  if (hostSession) await (await hostSession.catch(() => undefined))?.release();
  await model.session.release();
}

/**
 * The local files against the pinned model: with its manifest, the configs and this variant's files must be
 * exactly the listed ones (the fault names the file that differs); with the digest alone, the manifest of the
 * whole local folder (configs and every variant present) must hash to it. Returns the registered digest.
 */
async function checkPinned(
  model: string,
  modelDir: string,
  pinned: PinnedModel,
  local: ModelManifest,
  variantFile: string,
): Promise<ManifestDigest> {
  try {
    if (pinned.manifest) {
      const relevant = Object.keys(pinned.manifest.files).filter(
        (f) => isConfigFile(f) || f === variantFile || f.startsWith(`${variantFile}_data`),
      );
      compareManifests(pinned.manifest, local, [...new Set([...relevant, ...Object.keys(local.files)])]);
    } else {
      const whole = manifestDigest(await computeManifest(modelDir));
      if (whole !== pinned.digest) {
        throw new ModelMismatch(
          "(manifest)",
          `the local files hash to ${whole}, registered ${pinned.digest}; pass the manifest to name the file`,
        );
      }
    }
  } catch (error) {
    if (!(error instanceof ModelMismatch)) throw error;
    throw new EngineFault(`model ${model} does not match its registered digest ${pinned.digest}: ${error.message}`, { cause: error });
  }
  return pinned.digest;
}

function isConfigFile(file: string): boolean {
  return (CONFIG_FILES as readonly string[]).includes(file);
}

/** External data files of an ONNX file: those the manifest lists, else the usual single `<file>_data`. */
function externalDataFiles(file: string, manifest: ModelManifest | undefined): string[] {
  if (!manifest) return [`${file}_data`];
  return Object.keys(manifest.files).filter((f) => f === `${file}_data` || f.startsWith(`${file}_data_`));
}

function configuredLayers(config: Record<string, unknown>): number | undefined {
  for (const key of ["num_hidden_layers", "n_layer", "n_layers", "num_layers"]) {
    if (typeof config[key] === "number") return config[key] as number;
  }
  return undefined;
}

async function loadTokenizer(model: string, modelsDir: string): Promise<PreTrainedTokenizer> {
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = modelsDir.endsWith("/") ? modelsDir : `${modelsDir}/`;
  return AutoTokenizer.from_pretrained(model, { local_files_only: true });
}

function contextLength(config: Record<string, unknown>): number {
  for (const key of ["max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"]) {
    if (typeof config[key] === "number") return config[key] as number;
  }
  throw new EngineFault("config.json names no context length (max_position_embeddings)");
}

function kvShape(config: Record<string, unknown>): { heads: number; headDim: number } {
  const attentionHeads = Number(config.num_attention_heads);
  const heads = Number(config.num_key_value_heads ?? attentionHeads);
  const headDim = Number(config.head_dim ?? Number(config.hidden_size) / attentionHeads);
  return { heads, headDim };
}

async function readJson(filePath: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(filePath, "utf8"));
  } catch (error) {
    throw new EngineFault(`unreadable model file ${path.basename(filePath)}: ${(error as Error).message}`, { cause: error });
  }
}

async function readJsonIfPresent(filePath: string): Promise<Record<string, unknown> | undefined> {
  return (await isFile(filePath)) ? readJson(filePath) : undefined;
}

async function isFile(filePath: string): Promise<boolean> {
  return stat(filePath).then(
    (s) => s.isFile(),
    () => false,
  );
}
