import type { Command } from "commander";
import { ConfigError, loadWorkerConfig } from "../node/config.js";
import { TriadWorker } from "../node/worker.js";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("Run a Triad node: join with its stake, run the tasks it is selected for, commit, reveal, upload")
    .requiredOption("--config <file>", "worker configuration (JSON; see docs/worker.md)")
    .action(async (options: { config: string }, command: Command) => {
      let worker: TriadWorker;
      try {
        worker = new TriadWorker(loadWorkerConfig(options.config));
      } catch (error) {
        if (error instanceof ConfigError) command.error(`error: ${error.message}`, { exitCode: 2 });
        throw error;
      }
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          worker.log.warn({ signal }, "second signal: exiting now");
          process.exit(130);
        }
        void worker.stop().then(() => process.exit(0));
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        await worker.start();
      } catch (error) {
        worker.log.fatal({ err: (error as Error).message }, "the worker could not start");
        process.exit(1);
      }
    });
}
