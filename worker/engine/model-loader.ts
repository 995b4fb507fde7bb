import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { AutoTokenizer, env, type PreTrainedTokenizer } from "@huggingface/transformers";
import * as ort from "onnxruntime-node";
import { deviceInfo, type DeviceInfo } from "./device-info.js";
import { EngineFault, TaskRejection } from "./errors.js";
import { ensureDeviceAvailable, kvCacheLocation, sessionOptions, type Device, type KvCacheLocation, type ProviderSettings } from "./execution-provider.js";
import { sha256File } from "./file-hash.js";
import { HubFileMissing, downloadFromHub } from "./hub-download.js";
import { chooseVariant, type OnnxVariant } from "./variants.js";
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
  modelSha256: string;
  tokenizerSha256: string;
  modelFile: string;
  /** Absolute path of the ONNX file. */
  modelPath: string;
}

export interface LoadRequest {
  model: string;
  dtype?: TaskDtype;
  quantize_bits?: 4 | 8;
}

/** Loads a model's tokenizer, configs and ONNX session from `<modelsDir>/<model id>` (or the hub when allowed). */
export async function loadModel(
  request: LoadRequest,
  modelsDir: string,
  allowRemoteModels: boolean,
  settings: SessionSettings,
): Promise<LoadedModel> {
  const modelDir = path.join(modelsDir, request.model);
  if (!(await isFile(path.join(modelDir, "config.json")))) {
    if (!allowRemoteModels) {
      throw new TaskRejection("model_not_found", `model ${request.model} is not available on this node`);
    }
    await downloadFromHub(request.model, modelDir, ["config.json", "tokenizer.json", "tokenizer_config.json"], [
      "generation_config.json",
    ]).catch((error) => {
      if (error instanceof HubFileMissing) throw new TaskRejection("model_not_found", `model ${request.model} is not on the hub`);
      throw new EngineFault(`could not download ${request.model}: ${(error as Error).message}`, { cause: error });
    });
  }
  const config = await readJson(path.join(modelDir, "config.json"));
  const generationConfig = (await readJsonIfPresent(path.join(modelDir, "generation_config.json"))) ?? {};
  const { variant, file } = chooseVariant(request.dtype, request.quantize_bits, config);
  const modelFile = path.join(modelDir, file);
  if (!(await isFile(modelFile))) {
    if (!allowRemoteModels) {
      throw new TaskRejection("unsupported_variant", `model ${request.model} has no ${variant} ONNX variant (${file})`);
    }
    await downloadFromHub(request.model, modelDir, [file], [`${file}_data`]).catch((error) => {
      if (error instanceof HubFileMissing) {
        throw new TaskRejection("unsupported_variant", `model ${request.model} has no ${variant} ONNX variant (${file})`);
      }
      throw new EngineFault(`could not download ${request.model}/${file}: ${(error as Error).message}`, { cause: error });
    });
  }

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
    const [modelSha256, tokenizerSha256] = await Promise.all([
      sha256File(modelFile),
      sha256File(path.join(modelDir, "tokenizer.json")),
    ]);
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
      modelSha256,
      tokenizerSha256,
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
  model.hostKvSessionPromise ??= ort.InferenceSession.create(
    model.modelPath,
    sessionOptions(model.settings, model.numLayers, false),
  ).catch((error) => {
    model.hostKvSessionPromise = undefined;
    throw new EngineFault(`could not open a host-cache session for ${model.id}: ${(error as Error).message}`, { cause: error });
  });
  return model.hostKvSessionPromise;
}

/** Releases the model's sessions (device tensors from them must have been disposed first). */
export async function releaseModel(model: LoadedModel): Promise<void> {
  const hostSession = model.hostKvSessionPromise;
  model.hostKvSessionPromise = undefined;
  if (hostSession) await (await hostSession.catch(() => undefined))?.release();
  await model.session.release();
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
