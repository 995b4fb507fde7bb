import type pino from "pino";
import { beamSearch } from "./beam-search.js";
import { greedyOrSample } from "./decode-loop.js";
import { EngineFault, TaskRejection } from "./errors.js";
import { ForwardPass } from "./forward.js";
import { resolveGenerationConfig } from "./generation-config.js";
import { canonicalJson, hashCanonicalJson } from "./hashing.js";
import { buildProcessors } from "./logits-processors.js";
import { progressLogLines } from "./download-progress.js";
import type { ProgressReporter } from "./hub-download.js";
import {
  hostKvSession,
  loadModel,
  releaseModel,
  type Device,
  type LoadedModel,
  type PinnedModel,
  type SessionSettings,
} from "./model-loader.js";
import { promptTokenIds } from "./prompt.js";
import { provenance } from "./provenance.js";
import { buildResponse, errorDocument } from "./response.js";
import { parseTask } from "./task-input.js";
import { consistencyProblems, formatProblems, MAX_PROMPT_TOKENS } from "./validation.js";
import type { GptResponse, GptTask, TaskDtype, TaskErrorDocument } from "./types.js";
import { UNICODE_VERSION } from "./unicode-unassigned.js";
import { registeredVariantFor, type RegisteredVariants } from "./variants.js";

export interface EngineOptions {
  modelsDir: string;
  device?: Device;
  /** ONNX Runtime intra-op and inter-op threads; 1 (the default) keeps reductions in one fixed order. */
  threads?: number;
  allowRemoteModels?: boolean;
  logger?: pino.Logger;
  /**
   * The registered entry of a model id (the on-chain registry): its files must match the digest before the model
   * runs (an EngineFault otherwise), downloads use its revision, and the digest goes into provenance.
   * Undefined for a model that is not pinned (local development).
   */
  pinnedModel?: (model: string) => PinnedModel | undefined | Promise<PinnedModel | undefined>;
  /** Hub download progress; default: log lines through `logger` (the CLI passes a progress bar). */
  downloadProgress?: ProgressReporter;
}

export interface TaskOutcome {
  kind: "response" | "error";
  document: GptResponse | TaskErrorDocument; // exactly what is hashed
  canonicalJson: string; // RFC 8785 text of document (what the relay stores)
  resultHash: `0x${string}`; // keccak256(utf8(canonicalJson))
  metrics: { inferenceSeconds: number; promptTokens: number; completionTokens: number };
  provenance: Record<string, unknown>;
}

/** What the chain says about a task (every honest node reads the same): checked before the model runs. */
export interface OnChainTask {
  /** The id of the registered model the task was created for. */
  model: string;
  /** The task's on-chain minVramGb: must cover the registered VRAM of the variant its dtype selects. */
  minVramGb?: number;
  /** The registered model's variants (VRAM per offered variant, the variant `auto` runs). */
  variants?: RegisteredVariants;
}

/** Runs GPT tasks deterministically on local ONNX models; keeps loaded models in memory. */
export class GptEngine {
  private readonly settings: SessionSettings;
  private readonly models = new Map<string, Promise<LoadedModel>>();

  constructor(private readonly options: EngineOptions) {
    if (!runtimeKnowsUnicode(UNICODE_VERSION)) {
      throw new RangeError(`the engine needs a runtime with Unicode >= ${UNICODE_VERSION}, this one has ${process.versions.unicode}`);
    }
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError("threads must be a positive integer");
    this.settings = {
      device: options.device ?? "cpu",
      intraOpThreads: threads,
      interOpThreads: threads,
      graphOptimizationLevel: "all",
    };
  }

  /** Loads tokenizer + ONNX session into the cache (worker calls it at start-up). */
  async preload(model: string, variant: { dtype?: string; quantize_bits?: 4 | 8 } = {}): Promise<void> {
    await this.model({ model, messages: [], seed: 0, dtype: variant.dtype as TaskDtype, quantize_bits: variant.quantize_bits });
  }

  /**
   * Never rejects for a problem of the task itself: resolves kind "error". Rejects with EngineFault for local faults.
   * `onChain` (or just the model id): what the chain says about the task. A task document naming another model,
   * a variant the registered model does not offer (`unsupported_variant`), or a variant whose registered VRAM is
   * above the task's on-chain minVramGb (`invalid_task`) is an error result: every honest node reads the same
   * chain, so they agree on it, and nobody is slashed.
   */
  async runTask(taskBytes: Uint8Array, onChain?: string | OnChainTask): Promise<TaskOutcome> {
    const started = performance.now();
    let loaded: LoadedModel | undefined;
    const chain = typeof onChain === "string" ? { model: onChain } : onChain;
    try {
      const task = parseTask(taskBytes);
      if (chain !== undefined && task.model !== chain.model) {
        throw new TaskRejection(
          "invalid_task",
          `$.model: the task names model ${JSON.stringify(task.model)}, it was created on chain for ${JSON.stringify(chain.model)}`,
        );
      }
      if (chain?.variants) registeredVariantFor(task.dtype, task.quantize_bits, chain.variants, chain.minVramGb);
      loaded = await this.model(task);
      const response = await this.generate(loaded, task);
      return this.outcome("response", response, started, loaded, response.usage);
    } catch (error) {
      if (error instanceof TaskRejection) {
        return this.outcome("error", errorDocument(error.code, error.message), started, loaded);
      }
      const fault = error instanceof EngineFault ? error : new EngineFault(`unexpected engine failure: ${String(error)}`, { cause: error });
      this.options.logger?.error({ err: fault, provenance: provenance(loaded, this.settings) }, "engine fault");
      throw fault;
    }
  }

  async close(): Promise<void> {
    const models = [...this.models.values()];
    this.models.clear();
    for (const model of await Promise.allSettled(models)) {
      if (model.status === "fulfilled") await releaseModel(model.value);
    }
  }

  private async generate(loaded: LoadedModel, task: GptTask): Promise<GptResponse> {
    const config = resolveGenerationConfig(task.generation_config, loaded.generationConfig, loaded.config);
    const problems = consistencyProblems(config);
    if (problems.length > 0) throw new TaskRejection("invalid_task", formatProblems(problems));
    const promptIds = promptTokenIds(loaded.tokenizer, task.messages);
    if (promptIds.length + config.max_new_tokens > loaded.contextLength) {
      throw new TaskRejection(
        "context_length_exceeded",
        `prompt (${promptIds.length} tokens) + max_new_tokens (${config.max_new_tokens}) ` +
          `exceeds the model's context of ${loaded.contextLength} tokens`,
      );
    }
    if (promptIds.length > MAX_PROMPT_TOKENS) {
      throw new TaskRejection(
        "context_length_exceeded",
        `prompt (${promptIds.length} tokens) exceeds the ${MAX_PROMPT_TOKENS} prompt tokens a task may have (the work bound of a task)`,
      );
    }
    const processors = buildProcessors(config);
    // Beam search reorders cache rows on the host, so it runs on a session whose cache comes back there.
    const sequences =
      config.num_beams > 1
        ? await beamSearch(new ForwardPass(loaded, await hostKvSession(loaded)), promptIds, config, processors)
        : await greedyOrSample(new ForwardPass(loaded), promptIds, config, processors, task.seed);
    return buildResponse(task.model, loaded.tokenizer, promptIds, sequences);
  }

  /** Releases a model's cached sessions (e.g. when its registry entry changed); the next task loads it again. */
  async unload(model: string): Promise<void> {
    for (const [key, loading] of [...this.models]) {
      if (JSON.parse(key)[0] !== model) continue;
      this.models.delete(key);
      const loaded = await loading.catch(() => undefined);
      if (loaded) await releaseModel(loaded);
    }
  }

  private async model(task: GptTask): Promise<LoadedModel> {
    const pinned = await this.options.pinnedModel?.(task.model);
    // The registered digest is part of the key: a new registry entry is verified and loaded afresh.
    const auto = pinned?.variants?.autoVariant ?? null;
    const key = JSON.stringify([task.model, task.dtype ?? "auto", task.quantize_bits ?? null, pinned?.digest ?? null, auto]);
    let model = this.models.get(key);
    if (!model) {
      model = this.load(task, pinned);
      this.models.set(key, model);
      // A failed load is not cached: the next task retries.
      model.catch(() => this.models.delete(key));
    }
    return model;
  }

  private async load(task: GptTask, pinned: PinnedModel | undefined): Promise<LoadedModel> {
    const { logger, allowRemoteModels = false } = this.options;
    const onProgress = this.options.downloadProgress ?? (logger ? progressLogLines(logger) : undefined);
    return loadModel(task, this.options.modelsDir, { allowRemoteModels, pinned, onProgress }, this.settings);
  }

  private outcome(
    kind: TaskOutcome["kind"],
    document: TaskOutcome["document"],
    started: number,
    loaded: LoadedModel | undefined,
    usage?: GptResponse["usage"],
  ): TaskOutcome {
    const text = canonicalJson(document);
    const outcome: TaskOutcome = {
      kind,
      document,
      canonicalJson: text,
      resultHash: hashCanonicalJson(text),
      metrics: {
        inferenceSeconds: (performance.now() - started) / 1000,
        promptTokens: usage?.prompt_tokens ?? 0,
        completionTokens: usage?.completion_tokens ?? 0,
      },
      provenance: provenance(loaded, this.settings),
    };
    this.options.logger?.info({ kind, resultHash: outcome.resultHash, provenance: outcome.provenance }, "task outcome");
    return outcome;
  }
}

/** Whether this runtime's Unicode tables are at least `version` (every character the task check lets through is known). */
function runtimeKnowsUnicode(version: string): boolean {
  const [major, minor] = (process.versions.unicode ?? "0.0").split(".").map(Number);
  const [wantMajor, wantMinor] = version.split(".").map(Number);
  return major! > wantMajor! || (major === wantMajor && minor! >= wantMinor!);
}
