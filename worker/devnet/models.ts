import { existsSync } from "node:fs";
import path from "node:path";
import type { NodeRegistry } from "../../typechain-types/index.js";
import { computeManifest, manifestDigest } from "../engine/index.js";
import { registrationArgs, uniformRegistration } from "../engine/model-variants.js";

/**
 * The models the devnet registers when its models folder holds them: id and the VRAM (GB) governance declares for
 * each variant present in the folder (auto: the one its config.json names).
 */
export const DEVNET_MODELS = [{ id: "stories260K", vramGb: 1 }] as const;

/**
 * Registers the devnet's models through governance (the deployer), each with the digest of the local files in
 * `modelsDir` (the manifest `npx triad model manifest` prints) and revision "main". Returns what it registered.
 */
export async function registerDevnetModels(registry: NodeRegistry, modelsDir: string): Promise<Array<{ id: string; digest: string }>> {
  const registered: Array<{ id: string; digest: string }> = [];
  for (const { id, vramGb } of DEVNET_MODELS) {
    const dir = path.join(modelsDir, id);
    if (!existsSync(dir)) continue;
    const digest = manifestDigest(await computeManifest(dir));
    const variants = registrationArgs(await uniformRegistration(dir, vramGb));
    await (await registry.registerModel(id, "main", digest, ...variants)).wait();
    registered.push({ id, digest });
  }
  return registered;
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
