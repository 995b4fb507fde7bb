import { readFile } from "node:fs/promises";
import path from "node:path";
import { downloadFromHub, type ProgressReporter } from "./hub-download.js";
import { CONFIG_FILES, REQUIRED_CONFIG_FILES, computeManifest, verifyModelDir, type ModelManifest } from "./model-manifest.js";
import { VARIANT_FILES, chooseVariant, type OnnxVariant } from "./variants.js";

export interface PullOptions {
  /** Branch, tag or commit on the hub; default "main". */
  revision?: string;
  /** The registered manifest: every file it lists is fetched and checked, and the folder verified against it. */
  manifest?: ModelManifest;
  /** Without a manifest: the ONNX variants to fetch (default: the one a task with dtype "auto" uses). */
  variants?: OnnxVariant[];
  onProgress?: ProgressReporter;
}

export interface PullResult {
  /** The commit the hub resolved the revision to, when it said (undefined when nothing had to be fetched). */
  commit?: string;
  downloaded: string[];
  /** The local folder's manifest for what was pulled (equal to the given one when there was one). */
  manifest: ModelManifest;
}

/**
 * Fetches a model from the hub ahead of time into `<modelsDir>/<model>` (files already there are kept) and
 * verifies it: with a manifest, every listed file, and the folder must then match it (ModelMismatch names the
 * file that differs); without one, the configs and the chosen variants' files (external data included).
 */
export async function pullModel(model: string, modelsDir: string, options: PullOptions = {}): Promise<PullResult> {
  const modelDir = path.join(modelsDir, model);
  const hub = { revision: options.revision, manifest: options.manifest, onProgress: options.onProgress };
  if (options.manifest) {
    const result = await downloadFromHub(model, modelDir, Object.keys(options.manifest.files), [], hub);
    await verifyModelDir(modelDir, options.manifest);
    return { ...result, manifest: options.manifest };
  }
  const configs = await downloadFromHub(model, modelDir, [...REQUIRED_CONFIG_FILES], optionalConfigs(), hub);
  const config = JSON.parse(await readFile(path.join(modelDir, "config.json"), "utf8")) as Record<string, unknown>;
  const variants = options.variants ?? [chooseVariant("auto", undefined, config).variant];
  const downloaded = [...configs.downloaded];
  let commit = configs.commit;
  for (const variant of variants) {
    const file = `onnx/${VARIANT_FILES[variant]}`;
    const result = await downloadFromHub(model, modelDir, [file], [`${file}_data`], { ...hub, revision: commit ?? options.revision });
    downloaded.push(...result.downloaded);
    commit ??= result.commit;
  }
  return { commit, downloaded, manifest: await computeManifest(modelDir, variants) };
}

function optionalConfigs(): string[] {
  return CONFIG_FILES.filter((file) => !(REQUIRED_CONFIG_FILES as readonly string[]).includes(file));
}
