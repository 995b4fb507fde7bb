import path from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { defaultChainKind, startDevnet, type Devnet } from "../devnet/devnet.js";
import { formatDevnetSummary } from "../devnet/summary.js";
import { DEFAULT_WORKER_GROUPS } from "../devnet/worker-group.js";
import { defaultModelsDir } from "../paths.js";

interface DevnetCliOptions {
  stateDir: string;
  modelsDir: string;
  familyFixtures: boolean;
  blockTime: number;
  rpcPort: number;
  relayPort: number;
  workersPerModel: number;
  threads: number;
  chain: "hardhat" | "anvil";
  randomness: "vrf" | "blockhash";
}

export function registerDevnet(program: Command): void {
  program
    .command("devnet")
    .description("Run a local network on loopback: Hardhat node, contracts, relay and workers of two card models")
    .option("--state-dir <dir>", "manifest, deployment, relay data, worker state and logs (wiped at start)", ".triad/devnet")
    .option("--models-dir <dir>", "local models the workers load", defaultModelsDir())
    .option(
      "--family-fixtures",
      "also serve the random-weight model-family fixtures (Qwen3, Llama 3, Qwen2.5, Gemma 3, Phi-3.5 layouts), written into the state dir",
      false,
    )
    .option(
      "--block-time <seconds>",
      "0: automine (a block per transaction); N: a block every N seconds",
      parseInteger("--block-time", 0),
      0,
    )
    .option("--rpc-port <n>", "JSON-RPC port (0: any free port)", parseInteger("--rpc-port", 0), 8545)
    .option("--relay-port <n>", "relay port (0: any free port)", parseInteger("--relay-port", 0), 8547)
    .option("--workers-per-model <n>", "workers per card model (at least 3 for a majority)", parseInteger("--workers-per-model", 3), 3)
    .option("--threads <n>", "ONNX Runtime threads per worker", parseInteger("--threads", 1), 1)
    .addOption(
      new Option("--chain <node>", "the EVM node: hardhat or anvil (Foundry's, an independent implementation)")
        .choices(["hardhat", "anvil"])
        .default(defaultChainKind(), "$TRIAD_DEVNET_CHAIN, else hardhat"),
    )
    .addOption(
      new Option(
        "--randomness <source>",
        "selection randomness: Chainlink VRF (coordinator mock, fulfilled by the devnet) or the next block's hash",
      )
        .choices(["vrf", "blockhash"])
        .default("vrf"),
    )
    .action(async (options: DevnetCliOptions) => {
      let devnet: Devnet | undefined;
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        if (devnet === undefined) {
          // Interrupted while starting: exiting SIGKILLs every started process group (see devnet/processes.ts).
          console.log(`\n${signal}: start-up interrupted`);
          process.exit(130);
        }
        console.log(`\n${signal}: stopping workers, then the relay, then the chain...`);
        try {
          await devnet?.stop();
          console.log("devnet stopped");
          process.exit(0);
        } catch (error) {
          console.error(`devnet stopped with errors: ${(error as Error).message}`);
          process.exit(1);
        }
      };
      process.on("SIGINT", () => void stop("SIGINT"));
      process.on("SIGTERM", () => void stop("SIGTERM"));

      devnet = await startDevnet({
        stateDir: path.resolve(options.stateDir),
        modelsDir: options.modelsDir,
        familyFixtures: options.familyFixtures,
        blockTimeSeconds: options.blockTime,
        rpcPort: options.rpcPort,
        relayPort: options.relayPort,
        workerThreads: options.threads,
        chain: options.chain,
        randomness: options.randomness,
        groups: DEFAULT_WORKER_GROUPS.map((g) => ({ ...g, count: options.workersPerModel })),
        onProgress: (message) => console.log(`- ${message}`),
        onWorkerExit: (name, exit) => console.error(`! worker ${name} exited (code ${exit.code}, signal ${exit.signal}); see its log`),
      });
      console.log(`\n${formatDevnetSummary(devnet.manifest, devnet.deployment.params.stakeAmount)}`);
    });
}

function parseInteger(flag: string, minimum: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < minimum || value > 65535) {
      throw new InvalidArgumentError(`${flag} must be an integer from ${minimum} to 65535`);
    }
    return value;
  };
}
