import type { Command } from "commander";
import { type BridgeConfig, BridgeConfigError, loadBridgeConfig } from "../bridge/config.js";
import { type RunningBridge, startBridge } from "../bridge/server.js";

export function registerBridge(program: Command): void {
  program
    .command("bridge")
    .description("Serve an OpenAI-compatible API (POST /v1/chat/completions, GET /v1/models) and a chat page backed by the network")
    .requiredOption("--config <file>", "bridge configuration (JSON; see docs/bridge.md)")
    .action(async (options: { config: string }, command: Command) => {
      let config: BridgeConfig;
      try {
        config = loadBridgeConfig(options.config);
      } catch (error) {
        if (error instanceof BridgeConfigError) command.error(`error: ${error.message}`, { exitCode: 2 });
        throw error;
      }
      let bridge: RunningBridge;
      try {
        bridge = await startBridge(config);
      } catch (error) {
        command.error(`error: the bridge could not start: ${(error as Error).message}`);
      }
      const stop = () => void bridge.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
