import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { runDemo } from "../devnet/demo.js";
import { defaultModelsDir } from "../paths.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("Run a devnet, send the example tasks through consensus, show a faulty worker being slashed, stop")
    .option("--state-dir <dir>", "devnet state (wiped at start)", ".triad/demo")
    .option("--models-dir <dir>", "local models the workers load", defaultModelsDir())
    .option("--block-time <seconds>", "0: automine; N: a block every N seconds", parseBlockTime, 0)
    .action(async (options: { stateDir: string; modelsDir: string; blockTime: number }) => {
      // Exiting runs the hook that kills every process group the devnet started (devnet/processes.ts).
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
      await runDemo({ stateDir: path.resolve(options.stateDir), modelsDir: options.modelsDir, blockTimeSeconds: options.blockTime });
    });
}

function parseBlockTime(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 3600) throw new InvalidArgumentError("--block-time must be an integer from 0 to 3600");
  return Number(text);
}
