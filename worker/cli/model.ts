import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { ModelMismatch, computeManifest, manifestDigest, parseManifest, pullModel, type ModelManifest } from "../engine/index.js";
import { VARIANTS, autoVariantOf, variantsIn, type OnnxVariant } from "../engine/variants.js";
import { defaultModelsDir } from "../paths.js";
import { progressBar } from "./progress-bar.js";

/** `triad model manifest|pull`: what governance registers for a model, and fetching a registered model ahead of time. */
export function registerModel(program: Command): void {
  const model = program.command("model").description("Model manifests (files, sha256, digest) and hub downloads by revision");

  model
    .command("manifest")
    .description(
      "print a local model's manifest (JSON) on stdout; on stderr its digest (keccak256), the ONNX variants it holds " +
        "and the one dtype auto runs (what governance registers)",
    )
    .argument("<dir-or-id>", "a model folder, or a model id under --models-dir")
    .option("--models-dir <dir>", "local models directory (<dir>/<model id>)", defaultModelsDir())
    .option("--variants <list>", `ONNX variants to include, comma-separated (${VARIANTS.join(", ")}); default: all present`, parseVariants)
    .action(async (target: string, options: { modelsDir: string; variants?: OnnxVariant[] }, command: Command) => {
      const dir = (await isDirectory(target)) ? target : path.join(options.modelsDir, target);
      if (!(await isDirectory(dir)))
        command.error(`error: ${target} is neither a folder nor a model in ${options.modelsDir}`, { exitCode: 2 });
      const manifest = await computeManifest(dir, options.variants).catch((error) => {
        if (error instanceof ModelMismatch) command.error(`error: ${dir}: ${error.message}`, { exitCode: 2 });
        throw error;
      });
      printManifest(manifest);
      await printVariants(dir, manifest);
    });

  model
    .command("pull")
    .description("download a model from the hub at a revision into --models-dir and verify it (sha256 against --manifest)")
    .argument("<id>", "hub model id (org/name)")
    .option("--revision <rev>", "branch, tag or commit", "main")
    .option("--manifest <file>", "the registered manifest (JSON): every file it lists is fetched and checked")
    .option(
      "--variants <list>",
      "without --manifest: ONNX variants to fetch, comma-separated (default: the one dtype auto uses)",
      parseVariants,
    )
    .option("--models-dir <dir>", "local models directory (<dir>/<model id>)", defaultModelsDir())
    .action(
      async (
        id: string,
        options: { revision: string; manifest?: string; variants?: OnnxVariant[]; modelsDir: string },
        command: Command,
      ) => {
        let manifest: ModelManifest | undefined;
        if (options.manifest) {
          try {
            manifest = parseManifest(JSON.parse(await readFile(options.manifest, "utf8")));
          } catch (error) {
            command.error(`error: --manifest ${options.manifest}: ${(error as Error).message}`, { exitCode: 2 });
          }
        }
        try {
          const pull = { revision: options.revision, manifest, variants: options.variants, onProgress: progressBar() };
          const result = await pullModel(id, options.modelsDir, pull);
          process.stderr.write(`pulled ${id} at ${result.commit ?? options.revision}: ${result.downloaded.length} files downloaded\n`);
          printManifest(result.manifest);
        } catch (error) {
          command.error(`error: ${(error as Error).message}`, { exitCode: 1 });
        }
      },
    );
}

function parseVariants(value: string): OnnxVariant[] {
  const variants = value.split(",").map((v) => v.trim());
  const unknown = variants.filter((v) => !(VARIANTS as string[]).includes(v));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown variant ${unknown.join(", ")} (known: ${VARIANTS.join(", ")})`);
  return variants as OnnxVariant[];
}

function printManifest(manifest: ModelManifest): void {
  process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`digest ${manifestDigest(manifest)}\n`);
}

/**
 * The variants the manifest holds and the one config.json makes dtype auto run, with the register command's
 * `--vram` / `--auto` to fill in (the VRAM each variant needs is governance's measurement, not in the files).
 */
async function printVariants(dir: string, manifest: ModelManifest): Promise<void> {
  const present = variantsIn(Object.keys(manifest.files));
  const config = await readFile(path.join(dir, "config.json"), "utf8").then(
    (text) => JSON.parse(text) as Record<string, unknown>,
    () => undefined,
  );
  process.stderr.write(`variants ${present.join(",") || "(none)"}\n`);
  if (config === undefined) return;
  const auto = autoVariantOf(config);
  process.stderr.write(`auto ${auto}${present.includes(auto) ? "" : " (not in this manifest: tasks with dtype auto could not run)"}\n`);
  process.stderr.write(`register with: --vram ${present.map((v) => `${v}=GB`).join(",")} --auto ${auto}\n`);
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
