import { createRequire } from "node:module";
import path from "node:path";
import type { JsonRpcProvider } from "ethers";
import { repoRoot } from "../paths.js";
import { SupervisedProcess, waitUntilReady } from "./processes.js";

export interface HardhatNodeOptions {
  host: string;
  port: number;
  logFile: string;
  startTimeoutMs?: number;
}

/** A local EVM node the devnet started (`hardhat node` or anvil). */
export interface RunningChainNode {
  rpcUrl: string;
  chainId: number;
  process: SupervisedProcess;
  stop(): Promise<void>;
}

/**
 * Starts `hardhat node` by running Hardhat's CLI script with this Node binary (not through npx, whose wrapper
 * would leave the real server holding the port when killed). It starts in automine mode, on the `devnet` network of
 * hardhat.config.ts: blocks may share a timestamp, so chain time is wall-clock time (never +1 s per block).
 */
export async function startHardhatNode(options: HardhatNodeOptions): Promise<RunningChainNode> {
  const hardhatCli = hardhatCliPath();
  const child = await SupervisedProcess.start({
    name: "hardhat-node",
    command: process.execPath,
    args: [hardhatCli, "--network", "devnet", "node", "--hostname", options.host, "--port", String(options.port)],
    cwd: repoRoot,
    logFile: options.logFile,
  });
  return whenServing("hardhat node", child, `http://${options.host}:${options.port}`, options.startTimeoutMs);
}

/** Waits until the started node answers eth_chainId at `rpcUrl`; stops it if it never does. */
export async function whenServing(
  name: string,
  child: SupervisedProcess,
  rpcUrl: string,
  startTimeoutMs = 60_000,
): Promise<RunningChainNode> {
  try {
    let chainId = 0;
    await waitUntilReady(
      `${name} at ${rpcUrl}`,
      async () => {
        chainId = await fetchChainId(rpcUrl);
        return true;
      },
      { timeoutMs: startTimeoutMs, process: child },
    );
    return { rpcUrl, chainId, process: child, stop: async () => void (await child.stop()) };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** eth_chainId by plain fetch: an ethers provider would log retries while the node is still starting. */
export async function fetchChainId(rpcUrl: string): Promise<number> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
  });
  const body = (await response.json()) as { result?: string };
  if (typeof body.result !== "string") throw new Error(`eth_chainId answered ${JSON.stringify(body)}`);
  return Number(body.result);
}

/** 0: automine (a block per transaction). N > 0: a block every N seconds, automine off. */
export async function setBlockTime(provider: JsonRpcProvider, blockTimeSeconds: number): Promise<void> {
  if (!Number.isInteger(blockTimeSeconds) || blockTimeSeconds < 0) {
    throw new RangeError(`block time must be a non-negative integer number of seconds (got ${blockTimeSeconds})`);
  }
  if (blockTimeSeconds === 0) {
    await provider.send("evm_setIntervalMining", [0]);
    await provider.send("evm_setAutomine", [true]);
  } else {
    await provider.send("evm_setAutomine", [false]);
    await provider.send("evm_setIntervalMining", [blockTimeSeconds * 1000]);
  }
}

/** The script behind the `hardhat` command (its package.json "bin"). */
function hardhatCliPath(): string {
  const packageJson = createRequire(import.meta.url).resolve("hardhat/package.json", { paths: [repoRoot] });
  const { bin } = createRequire(import.meta.url)(packageJson) as { bin: { hardhat: string } };
  return path.join(path.dirname(packageJson), bin.hardhat);
}
