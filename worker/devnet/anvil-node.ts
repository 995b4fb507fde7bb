import { createRequire } from "node:module";
import path from "node:path";
import { repoRoot } from "../paths.js";
import { type RunningChainNode, whenServing } from "./hardhat-node.js";
import { SupervisedProcess } from "./processes.js";

export interface AnvilNodeOptions {
  host: string;
  port: number;
  logFile: string;
  startTimeoutMs?: number;
}

/** Accounts the devnet hands out (workers from #2, the bridge's fee wallet #19): as many as `hardhat node` makes. */
const DEV_ACCOUNTS = 20;

/**
 * Starts anvil (Foundry's EVM node, from the npm package `@foundry-rs/anvil`), a second EVM implementation
 * independent of Hardhat's EDR, so the devnet and the end-to-end tests can prove nothing depends on Hardhat-only
 * behaviour. Same chain id (31337), mnemonic and funded dev accounts as `hardhat node`; automine, Osaka rules.
 */
export async function startAnvilNode(options: AnvilNodeOptions): Promise<RunningChainNode> {
  const child = await SupervisedProcess.start({
    name: "anvil",
    command: anvilBinaryPath(),
    args: [
      "--host",
      options.host,
      "--port",
      String(options.port),
      "--chain-id",
      "31337",
      "--accounts",
      String(DEV_ACCOUNTS),
      "--hardfork",
      "osaka",
    ],
    cwd: repoRoot,
    logFile: options.logFile,
  });
  return whenServing("anvil", child, `http://${options.host}:${options.port}`, options.startTimeoutMs);
}

/** The native binary inside the platform package (`@foundry-rs/anvil-<os>-<arch>`), run directly (no wrapper). */
function anvilBinaryPath(): string {
  const arch = { x64: "amd64", arm64: "arm64" }[process.arch as string];
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}`;
  const require = createRequire(import.meta.url);
  try {
    const packageJson = require.resolve(`${platformPackage}/package.json`, { paths: [repoRoot] });
    return path.join(path.dirname(packageJson), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
  } catch {
    throw new Error(`anvil is not installed for ${process.platform}/${process.arch} (npm package ${platformPackage})`);
  }
}
