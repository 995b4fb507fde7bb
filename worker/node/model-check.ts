import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type pino from "pino";
import type { NodeRegistry } from "../../typechain-types/index.js";
import {
  ModelMismatch,
  canonicalManifest,
  compareManifests,
  computeManifest,
  manifestDigest,
  parseManifest,
  progressLogLines,
  pullModel,
  type ModelManifest,
  type PinnedModel,
} from "../engine/index.js";
import { VARIANT_FILES, autoVariantOf, registeredVariants } from "../engine/variants.js";

/** The node lacks a model its group enables, or holds files that differ from the registered digest. */
export class ModelNotHeld extends Error {
  constructor(
    readonly model: string,
    readonly file: string,
    reason: string,
  ) {
    super(`model ${model}: ${file}: ${reason}`);
    this.name = "ModelNotHeld";
  }
}

export interface RegisteredModel extends PinnedModel {
  index: bigint;
  id: string;
  /** The local folder's manifest once it hashed to the registered digest: names the file that differs later. */
  manifest?: ModelManifest;
}

/** The models a group's nodes must hold: those drawable now and those pending activation (bit i = model i). */
export async function groupModelIndexes(registry: NodeRegistry, groupId: bigint): Promise<bigint[]> {
  const [enabled, pending] = await registry.groupModels(groupId);
  const bits = enabled | pending;
  const indexes: bigint[] = [];
  for (let i = 0n; bits >> i !== 0n; i++) if ((bits >> i) & 1n) indexes.push(i);
  return indexes;
}

/**
 * Checks the local files of registered models against their on-chain digests (the manifest of the whole local
 * folder, as `triad model manifest` prints it, must hash to the registered digest), fetching a missing or
 * different model by its pinned revision first when remote models are allowed. Remembers each verified
 * manifest (in memory, and under `manifestsDir` when given, so a restarted worker still has it) so that a file
 * changed later is named (the engine compares against it before every task).
 */
export class ModelVerifier {
  readonly #verified = new Map<string, RegisteredModel>();

  constructor(
    private readonly registry: NodeRegistry,
    private readonly modelsDir: string,
    private readonly allowRemoteModels: boolean,
    private readonly log: pino.Logger,
    private readonly manifestsDir?: string,
  ) {}

  /** Verifies every model group `groupId` enables (or will); throws ModelNotHeld for the first it lacks. */
  async verifyGroup(groupId: bigint): Promise<RegisteredModel[]> {
    const models: RegisteredModel[] = [];
    for (const index of await groupModelIndexes(this.registry, groupId)) models.push(await this.verify(index));
    return models;
  }

  /** Verifies one registered model (fetching it when allowed); throws ModelNotHeld when the files differ. */
  async verify(index: bigint): Promise<RegisteredModel> {
    const entry = await this.registry.getModel(index);
    const model: RegisteredModel = {
      index,
      id: entry.id,
      digest: entry.digest as `0x${string}`,
      revision: entry.revision,
      variants: registeredVariants(entry),
    };
    const known = this.#verified.get(model.id);
    const manifest = known?.digest === model.digest ? known.manifest : await this.#savedManifest(model.digest);
    let problem = await this.#check(model, manifest);
    if (problem && this.allowRemoteModels) {
      this.log.info({ model: model.id, revision: model.revision, reason: problem.message }, "fetching the registered model");
      await pullModel(model.id, this.modelsDir, {
        revision: model.revision,
        manifest,
        onProgress: progressLogLines(this.log),
      });
      problem = await this.#check(model, undefined);
    }
    if (problem) throw problem;
    this.#verified.set(model.id, model);
    if (this.manifestsDir && model.manifest) {
      await mkdir(this.manifestsDir, { recursive: true });
      await writeFile(path.join(this.manifestsDir, `${model.digest}.json`), canonicalManifest(model.manifest));
    }
    this.log.info({ model: model.id, revision: model.revision, digest: model.digest }, "model files match the registry");
    await this.#warnIfAutoDiffers(model);
    return model;
  }

  /** The registered model at `index`, verified once (registry entries never change; only their status does). */
  async ensure(index: bigint): Promise<RegisteredModel> {
    for (const model of this.#verified.values()) if (model.index === index) return model;
    return this.verify(index);
  }

  /** The registered entry of a verified model id (what the engine checks the files against before a task). */
  pinned(modelId: string): RegisteredModel | undefined {
    return this.#verified.get(modelId);
  }

  /**
   * Governance registered another auto variant than the one the model's config.json names: tasks with dtype auto
   * run the registered one on every node (deterministic), but the registration is probably a mistake.
   */
  async #warnIfAutoDiffers(model: RegisteredModel): Promise<void> {
    const config = await readFile(path.join(this.modelsDir, model.id, "config.json"), "utf8").then(
      (text) => JSON.parse(text) as Record<string, unknown>,
      () => undefined,
    );
    const local = config && autoVariantOf(config);
    if (local === undefined || local === model.variants?.autoVariant) return;
    this.log.warn(
      { model: model.id, registered: model.variants?.autoVariant, config: local },
      "the registered auto variant differs from config.json's: tasks with dtype auto run the registered one",
    );
  }

  /** A manifest verified earlier for `digest` (only trusted if it still hashes to the digest). */
  async #savedManifest(digest: string): Promise<ModelManifest | undefined> {
    if (!this.manifestsDir) return undefined;
    const text = await readFile(path.join(this.manifestsDir, `${digest}.json`), "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const manifest = parseManifest(JSON.parse(text));
      return manifestDigest(manifest) === digest ? manifest : undefined;
    } catch {
      return undefined;
    }
  }

  async #check(model: RegisteredModel, manifest: ModelManifest | undefined): Promise<ModelNotHeld | undefined> {
    const dir = path.join(this.modelsDir, model.id);
    let local: ModelManifest;
    try {
      local = await computeManifest(dir);
    } catch (error) {
      if (error instanceof ModelMismatch) return new ModelNotHeld(model.id, error.file, error.reason);
      throw error;
    }
    if (Object.keys(local.files).length === 0) return new ModelNotHeld(model.id, dir, "no model files");
    const digest = manifestDigest(local);
    const matching = variantSubsets(local).find((m) => manifestDigest(m) === model.digest);
    if (matching) {
      model.manifest = matching;
      return undefined;
    }
    if (manifest) {
      try {
        compareManifests(manifest, local);
      } catch (error) {
        if (error instanceof ModelMismatch) return new ModelNotHeld(model.id, error.file, error.reason);
        throw error;
      }
    }
    return new ModelNotHeld(
      model.id,
      "(manifest)",
      `the local files hash to ${digest}, registered ${model.digest} (revision ${model.revision})`,
    );
  }
}

/**
 * The local manifest, and the manifests of each subset of its ONNX variants (governance may register a manifest
 * of some variants only: `triad model manifest --variants`); the files are hashed once. Most-variants first.
 */
function variantSubsets(local: ModelManifest): ModelManifest[] {
  const variantOf = (file: string) => Object.values(VARIANT_FILES).find((v) => file === `onnx/${v}` || file.startsWith(`onnx/${v}_data`));
  const present = [
    ...new Set(
      Object.keys(local.files)
        .map(variantOf)
        .filter((v) => v !== undefined),
    ),
  ];
  if (present.length > 10) return [local];
  const subsets: ModelManifest[] = [];
  for (let mask = (1 << present.length) - 1; mask > 0; mask--) {
    const chosen = new Set(present.filter((_, i) => mask & (1 << i)));
    const files = Object.entries(local.files).filter(([file]) => {
      const variant = variantOf(file);
      return variant === undefined || chosen.has(variant);
    });
    subsets.push({ files: Object.fromEntries(files) });
  }
  return subsets.length > 0 ? subsets : [local];
}
