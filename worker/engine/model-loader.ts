import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { AutoTokenizer, env, type PreTrainedTokenizer } from "@huggingface/transformers";
import * as ort from "onnxruntime-node";
import { EngineFault, TaskRejection } from "./errors.js";
import { sha256File } from "./file-hash.js";
import { downloadFromHub } from "./hub-download.js";
import { chooseVariant, type OnnxVariant } from "./variants.js";
import type { TaskDtype } from "./types.js";

export type Device = "cpu" | "webgpu" | "cuda";

export interface SessionSettings {
  device: Device;
  intraOpThreads: number;
  interOpThreads: number;
  graphOptimizationLevel: "disabled" | "basic" | "extended" | "all";
}

export interface LoadedModel {
  id: string;
  variant: OnnxVariant;
  session: ort.InferenceSession;
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
    await downloadFromHub(request.model, modelDir, [file], [`${file}_data`]).catch(() => {
      throw new TaskRejection("unsupported_variant", `model ${request.model} has no ${variant} ONNX variant (${file})`);
    });
  }

  try {
    const tokenizer = await loadTokenizer(request.model, modelsDir);
    const session = await ort.InferenceSession.create(modelFile, {
      executionProviders: [settings.device],
      intraOpNumThreads: settings.intraOpThreads,
      interOpNumThreads: settings.interOpThreads,
      graphOptimizationLevel: settings.graphOptimizationLevel,
      executionMode: "sequential",
    });
    const numLayers = session.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
    const kvMeta = session.inputMetadata.find((m) => m.name === "past_key_values.0.key");
    const kvType = kvMeta && kvMeta.isTensor && kvMeta.type === "float16" ? "float16" : "float32";
    const [modelSha256, tokenizerSha256] = await Promise.all([
      sha256File(modelFile),
      sha256File(path.join(modelDir, "tokenizer.json")),
    ]);
    return {
      id: request.model,
      variant,
      session,
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
    };
  } catch (error) {
    throw new EngineFault(`could not load ${request.model} (${variant}): ${(error as Error).message}`, { cause: error });
  }
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
