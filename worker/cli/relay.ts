import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { getAddress, isAddress } from "ethers";
import { readDeploymentFile } from "../chain/deployment.js";
import { type RunningRelay, startRelay } from "../relay/server.js";

interface RelayCliOptions {
  dataDir: string;
  rpc: string;
  taskManager?: string;
  deployment?: string;
  port: number;
  host: string;
}

export function registerRelay(program: Command): void {
  program
    .command("relay")
    .description("Serve task arguments and results, checked against the hashes the chain records")
    .requiredOption("--data-dir <dir>", "where objects, the task index and used nonces are kept")
    .option("--rpc <url>", "JSON-RPC URL of the chain", process.env.TRIAD_RPC_URL ?? "http://127.0.0.1:8545")
    .option("--task-manager <address>", "address of the TaskManager contract")
    .option("--deployment <file>", "a deployment record (deployments/<chainId>.json) giving the TaskManager address")
    .option("--port <n>", "TCP port (0 picks a free one)", parsePort, 8547)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .action(async (options: RelayCliOptions, command: Command) => {
      let relay: RunningRelay;
      try {
        relay = await startRelay({
          port: options.port,
          host: options.host,
          dataDir: path.resolve(options.dataDir),
          rpcUrl: options.rpc,
          taskManager: resolveTaskManager(options),
        });
      } catch (error) {
        command.error(`error: ${(error as Error).message}`);
      }
      const stop = () => void relay.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^[0-9]+$/.test(text) || port > 65535) {
    throw new InvalidArgumentError("--port must be an integer from 0 to 65535");
  }
  return port;
}

function resolveTaskManager(options: RelayCliOptions): string {
  if ((options.taskManager === undefined) === (options.deployment === undefined)) {
    throw new Error("give exactly one of --task-manager <address> or --deployment <file>");
  }
  if (options.taskManager !== undefined) return checkedAddress(options.taskManager, "--task-manager");
  return readDeploymentFile(options.deployment!).taskManager;
}

function checkedAddress(value: unknown, field: string): string {
  if (typeof value !== "string" || !isAddress(value)) {
    throw new Error(`${field} must be a 20-byte hex address, got ${JSON.stringify(value)}`);
  }
  return getAddress(value);
}
