import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { ModelMismatch, computeManifest, manifestDigest, parseManifest, pullModel, type ModelManifest } from "../engine/index.js";
import { defaultModelsDir } from "../paths.js";
import { progressBar } from "./progress-bar.js";

/** `triad model manifest|pull`: what governance registers for a model, and fetching a registered model ahead of time. */
export function registerModel(program: Command): void {
  const model = program.command("model").description("Model manifests (files, sha256, digest) and hub downloads by revision");

  model
    .command("manifest")
    .description("print a local model's manifest (canonical JSON) on stdout and its digest (keccak256) on stderr")
    .argument("<dir-or-id>", "a model folder, or a model id under --models-dir")
    .option("--models-dir <dir>", "local models directory (<dir>/<model id>)", defaultModelsDir())
    .action(async (target: string, options: { modelsDir: string }, command: Command) => {
      const dir = (await isDirectory(target)) ? target : path.join(options.modelsDir, target);
      if (!(await isDirectory(dir)))
        command.error(`error: ${target} is neither a folder nor a model in ${options.modelsDir}`, { exitCode: 2 });
      const manifest = await computeManifest(dir).catch((error) => {
        if (error instanceof ModelMismatch) command.error(`error: ${dir}: ${error.message}`, { exitCode: 2 });
        throw error;
      });
      printManifest(manifest);
    });

  model
    .command("pull")
    .description("download a model from the hub at a revision into --models-dir and verify it (sha256 against --manifest)")
    .argument("<id>", "hub model id (org/name)")
    .option("--revision <rev>", "branch, tag or commit", "main")
    .option("--manifest <file>", "the registered manifest (JSON): every file it lists is fetched and checked")
    .option("--models-dir <dir>", "local models directory (<dir>/<model id>)", defaultModelsDir())
    .action(async (id: string, options: { revision: string; manifest?: string; modelsDir: string }, command: Command) => {
      let manifest: ModelManifest | undefined;
      if (options.manifest) {
        try {
          manifest = parseManifest(JSON.parse(await readFile(options.manifest, "utf8")));
        } catch (error) {
          command.error(`error: --manifest ${options.manifest}: ${(error as Error).message}`, { exitCode: 2 });
        }
      }
      try {
        const result = await pullModel(id, options.modelsDir, { revision: options.revision, manifest, onProgress: progressBar() });
        process.stderr.write(`pulled ${id} at ${result.commit ?? options.revision}: ${result.downloaded.length} files downloaded\n`);
        printManifest(result.manifest);
      } catch (error) {
        command.error(`error: ${(error as Error).message}`, { exitCode: 1 });
      }
    });
}

function printManifest(manifest: ModelManifest): void {
  process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`digest ${manifestDigest(manifest)}\n`);
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
