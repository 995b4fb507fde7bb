import { existsSync } from "node:fs";
import { mkdir, readdir, symlink } from "node:fs/promises";
import path from "node:path";
import type { NodeRegistry } from "../../typechain-types/index.js";
import { computeManifest, manifestDigest } from "../engine/index.js";
import { FAMILIES, FAMILY_FIXTURE_SEED, makeFamilyFixture } from "../engine/fixtures/family-fixtures.js";
import { registrationArgs, uniformRegistration } from "../engine/model-variants.js";

/**
 * The models the devnet registers when its models folder holds them: id and the VRAM (GB) governance declares for
 * each variant present in the folder (auto: the one its config.json names).
 */
export const DEVNET_MODELS = [{ id: "stories260K", vramGb: 1 }] as const;

/** The hub revision the devnet registers its local models under. */
export const DEVNET_MODEL_REVISION = "main";
/** The family fixtures are written by the devnet, not fetched: their "revision" names the writer's seed. */
export const FAMILY_FIXTURE_REVISION = `random-weights-seed-${FAMILY_FIXTURE_SEED}`;
/** The VRAM governance declares for each family fixture (they are a few MB). */
const FAMILY_FIXTURE_VRAM_GB = 1;

export interface DevnetModel {
  id: string;
  revision: string;
  /** keccak256 of the folder's manifest, as registered. */
  digest: string;
}

/**
 * The one place the devnet registers a model through governance (the deployer): the digest of the local folder's
 * files (the manifest `npx triad model manifest` prints) under `revision`, every variant present in the folder at
 * `vramGb`, auto being the one its config.json names.
 */
export async function registerModelFolder(
  registry: NodeRegistry,
  id: string,
  dir: string,
  revision: string,
  vramGb: number,
): Promise<DevnetModel> {
  const digest = manifestDigest(await computeManifest(dir));
  const variants = registrationArgs(await uniformRegistration(dir, vramGb));
  await (await registry.registerModel(id, revision, digest, ...variants)).wait();
  return { id, revision, digest };
}

/**
 * Registers the devnet's models: each of DEVNET_MODELS that `modelsDir` holds (revision "main"), then, with
 * `familyFixtures`, every family fixture (which must be in `modelsDir`: see writeFixtureModelsDir). Returns what
 * it registered, in registration order.
 */
export async function registerDevnetModels(
  registry: NodeRegistry,
  modelsDir: string,
  options: { familyFixtures?: boolean } = {},
): Promise<DevnetModel[]> {
  const registered: DevnetModel[] = [];
  for (const { id, vramGb } of DEVNET_MODELS) {
    const dir = path.join(modelsDir, id);
    if (!existsSync(dir)) continue;
    registered.push(await registerModelFolder(registry, id, dir, DEVNET_MODEL_REVISION, vramGb));
  }
  if (options.familyFixtures) {
    for (const fixture of FAMILIES) {
      const dir = path.join(modelsDir, fixture.name);
      if (!existsSync(dir)) throw new Error(`family fixture ${fixture.name}: ${dir} does not exist (write it with writeFixtureModelsDir)`);
      registered.push(await registerModelFolder(registry, fixture.name, dir, FAMILY_FIXTURE_REVISION, FAMILY_FIXTURE_VRAM_GB));
    }
  }
  return registered;
}

/**
 * Makes `targetDir` (new or empty) a models folder holding both the models of `sourceDir` (a symlink to each
 * entry: the source files are never copied nor written) and every family fixture, written there with its fixed
 * seed (the same bytes every time). Returns `targetDir`.
 */
export async function writeFixtureModelsDir(sourceDir: string, targetDir: string): Promise<string> {
  await mkdir(targetDir, { recursive: true });
  if ((await readdir(targetDir)).length > 0) throw new Error(`${targetDir} must be empty to hold the devnet's models`);
  const entries = await readdir(sourceDir);
  const clash = entries.find((entry) => FAMILIES.some((f) => f.name === entry));
  if (clash) throw new Error(`models dir ${sourceDir} already holds "${clash}", the name of a family fixture the devnet writes itself`);
  for (const entry of entries) await symlink(path.join(sourceDir, entry), path.join(targetDir, entry));
  for (const fixture of FAMILIES) await makeFamilyFixture(fixture, targetDir);
  return targetDir;
}

/** Enables every active registered model that fits the group's VRAM on it (devnet groups serve them all). */
export async function enableAllModels(registry: NodeRegistry, groupId: bigint): Promise<void> {
  const [, vramGb] = await registry.groupAt(groupId);
  const [enabled, pending] = await registry.groupModels(groupId);
  const count = await registry.modelCount();
  for (let model = 0n; model < count; model++) {
    const entry = await registry.getModel(model);
    if (entry.status !== 1n || entry.vramGb > vramGb || ((enabled | pending) >> model) & 1n) continue;
    await (await registry.enableModel(groupId, model)).wait();
  }
}
