import { readFileSync } from "node:fs";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { manifestDigest, parseManifest, type ModelManifest } from "../worker/engine/model-manifest.js";
import { registrationArgs } from "../worker/engine/model-variants.js";
import {
  VARIANTS,
  formatVariantVram,
  isVariant,
  parseVariantVram,
  registeredVariants,
  variantsIn,
  type OnnxVariant,
} from "../worker/engine/variants.js";
import { connectTriad } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface RegisterArgs {
  account: number;
  id: string;
  revision: string;
  manifest: string;
  digest: string;
  vram: string;
  auto: string;
}

const MODEL_STATUS = ["none", "active", "retired"];

/**
 * `triad model register`: governance pins a model id to a hub revision, the digest of its files and the VRAM each
 * offered ONNX variant needs (`--vram fp32=2,q4f16=1`; `--auto`: the variant dtype auto runs). The digest is
 * keccak256 of the manifest's canonical JSON: give the manifest `npx triad model manifest ID` printed (--manifest
 * FILE; then every variant in --vram must be in it), or the digest it printed (--digest).
 */
export const register = readable(async (args: RegisterArgs, hre: HardhatRuntimeEnvironment) => {
  if (args.id.trim() === "") throw new Error("--id must be the model id tasks name in their `model` field");
  if (args.revision.trim() === "") throw new Error("--revision must be the hub revision (a commit hash preferably)");
  if (args.vram.trim() === "") throw new Error("--vram must give the VRAM (GB) of each offered variant, e.g. fp32=2,q4f16=1");
  const variantVramGb = parseVariantVram(args.vram, "--vram");
  const offered = VARIANTS.filter((v) => variantVramGb[v] !== undefined);
  const autoVariant = chooseAuto(args.auto, offered);
  if ((args.manifest === "") === (args.digest === "")) throw new Error("give exactly one of --manifest FILE and --digest 0x...");
  let digest = args.digest;
  if (args.manifest !== "") {
    let manifest: ModelManifest;
    try {
      manifest = parseManifest(JSON.parse(readFileSync(args.manifest, "utf8")));
    } catch (error) {
      throw new Error(`--manifest ${args.manifest}: ${(error as Error).message}`);
    }
    const inManifest = variantsIn(Object.keys(manifest.files));
    const missing = offered.filter((v) => !inManifest.includes(v));
    if (missing.length > 0) {
      throw new Error(`--vram: ${missing.join(", ")} not in ${args.manifest} (its variants: ${inManifest.join(", ") || "none"})`);
    }
    digest = manifestDigest(manifest);
  } else if (!/^0x[0-9a-fA-F]{64}$/.test(digest)) {
    throw new Error(`--digest must be 0x and 64 hex digits (got ${digest})`);
  }
  const triad = await connectTriad(hre, args.account);
  const registration = { variantVramGb, autoVariant };
  await (await triad.registry.registerModel(args.id, args.revision, digest, ...registrationArgs(registration))).wait();
  const index = await triad.registry.modelIndexOf(args.id);
  console.log(
    `Model ${index} registered: ${args.id} at ${args.revision}, digest ${digest}, VRAM ${formatVariantVram(variantVramGb)} GB, ` +
      `auto ${autoVariant}`,
  );
});

/** The `--auto` variant: the one named (it must be offered), or the only one offered. */
export function chooseAuto(auto: string, offered: OnnxVariant[]): OnnxVariant {
  if (auto === "") {
    if (offered.length === 1) return offered[0]!;
    throw new Error(`--auto must name the variant dtype auto runs (one of ${offered.join(", ")}; \`npx triad model manifest\` prints it)`);
  }
  if (!isVariant(auto)) throw new Error(`--auto: unknown variant ${auto} (known: ${VARIANTS.join(", ")})`);
  if (!offered.includes(auto)) throw new Error(`--auto: ${auto} is not offered in --vram (offered: ${offered.join(", ")})`);
  return auto;
}

/** `triad model retire`: governance retires a model (createTask refuses it; groups keep serving queued tasks). */
export const retire = readable(async (args: { account: number; id: string }, hre: HardhatRuntimeEnvironment) => {
  const triad = await connectTriad(hre, args.account);
  const index = await triad.registry.modelIndexOf(args.id);
  await (await triad.registry.retireModel(index)).wait();
  console.log(`Model ${index} (${args.id}) retired`);
});

/** `triad model list`: every registered model with its index, revision, digest, VRAM per variant, auto variant and status. */
export const list = readable(async (args: { account: number }, hre: HardhatRuntimeEnvironment) => {
  const triad = await connectTriad(hre, args.account);
  const count = await triad.registry.modelCount();
  if (count === 0n) console.log("No models yet (governance registers them with `npx hardhat triad model register`)");
  for (let index = 0n; index < count; index++) {
    const m = await triad.registry.getModel(index);
    const served = m.servedVramGb === 0n ? "served by no group" : `served up to ${m.servedVramGb} GB`;
    const { variantVramGb, autoVariant } = registeredVariants(m);
    const vram = `${formatVariantVram(variantVramGb)} GB (auto ${autoVariant})`;
    console.log(`${index}  ${m.id}  ${m.revision}  ${m.digest}  ${vram}  ${MODEL_STATUS[Number(m.status)]}, ${served}`);
  }
});

/**
 * `triad group enable-model`: governance enables a registered model on a card group. Drawable at once when the
 * group has no nodes, else after MODEL_ACTIVATION_DELAY (then anyone may call activateModels): its nodes pause,
 * fetch and verify the files meanwhile.
 */
export const enable = readable(async (args: { account: number; group: number; model: string }, hre: HardhatRuntimeEnvironment) => {
  if (!Number.isInteger(args.group) || args.group < 0) throw new Error(`--group must be a group id (got ${args.group})`);
  const triad = await connectTriad(hre, args.account);
  const index = await triad.registry.modelIndexOf(args.model);
  await (await triad.registry.enableModel(args.group, index)).wait();
  const [enabled, , activatesAt] = await triad.registry.groupModels(args.group);
  const now = ((enabled >> index) & 1n) === 1n;
  console.log(
    now
      ? `Model ${args.model} enabled on group ${args.group}`
      : `Model ${args.model} enabled on group ${args.group} from ${new Date(Number(activatesAt) * 1000).toISOString()} ` +
          `(then: npx hardhat triad group activate-models --group ${args.group})`,
  );
});

/** `triad group activate-models`: makes a group's pending models drawable once their delay passed (anyone). */
export const activate = readable(async (args: { account: number; group: number }, hre: HardhatRuntimeEnvironment) => {
  const triad = await connectTriad(hre, args.account);
  await (await triad.registry.activateModels(args.group)).wait();
  console.log(`Pending models of group ${args.group} activated`);
});
