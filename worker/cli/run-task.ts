import { readFile } from "node:fs/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { EngineFault, GptEngine } from "../engine/index.js";
import type { TaskErrorDocument } from "../engine/types.js";
import { defaultModelsDir } from "../paths.js";
import { progressBar } from "./progress-bar.js";

/** Exit status for a task the engine rejected (bad JSON, schema or range violation, unavailable model...). */
const EXIT_INVALID_TASK = 2;
const EXIT_ENGINE_FAULT = 1;

export function registerRunTask(program: Command): void {
  program
    .command("run-task")
    .description("validate and run one GPT task locally (no chain): canonical response JSON on stdout, hash on stderr")
    .argument("<file>", "task JSON file")
    .option("--models-dir <dir>", "local models directory (<dir>/<model id>)", defaultModelsDir())
    .addOption(new Option("--device <device>", "ONNX Runtime execution provider").choices(["cpu", "webgpu", "cuda"]).default("cpu"))
    .option("--threads <n>", "ONNX Runtime intra-op and inter-op threads", parsePositiveInteger, 1)
    .option("--allow-remote-models", "download missing models from the HuggingFace hub", false)
    .action(
      async (
        file: string,
        options: { modelsDir: string; device: "cpu" | "webgpu" | "cuda"; threads: number; allowRemoteModels: boolean },
      ) => {
        const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
          process.stderr.write(`cannot read ${file}: ${error.code ?? error.message}\n`);
          process.exit(EXIT_INVALID_TASK);
        });
        const engine = new GptEngine({
          modelsDir: options.modelsDir,
          device: options.device,
          threads: options.threads,
          allowRemoteModels: options.allowRemoteModels,
          downloadProgress: progressBar(),
        });
        try {
          const outcome = await engine.runTask(bytes);
          process.stdout.write(`${outcome.canonicalJson}\n`);
          process.stderr.write(`resultHash ${outcome.resultHash}\n`);
          process.stderr.write(`provenance ${JSON.stringify(outcome.provenance)}\n`);
          if (outcome.kind === "error") {
            process.stderr.write(`${(outcome.document as TaskErrorDocument).error.message}\n`);
            process.exitCode = EXIT_INVALID_TASK;
          }
        } catch (error) {
          if (!(error instanceof EngineFault)) throw error;
          process.stderr.write(`engine fault: ${error.message}\n`);
          process.exitCode = EXIT_ENGINE_FAULT;
        } finally {
          await engine.close();
        }
      },
    );
}

function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError("must be a positive integer");
  return parsed;
}
