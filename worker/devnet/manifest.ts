import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { WorkerFaults } from "../node/config.js";

export const MANIFEST_FILE = "devnet.json";

export interface ManifestAccount {
  role: "deployer (token minter)" | "client" | "bridge (fee wallet)" | "vrf fulfiller" | "worker" | "spare";
  index: number;
  address: string;
  /** A Hardhat well-known key: public knowledge, for this local devnet only. */
  privateKey: string;
}

export interface ManifestWorker {
  name: string;
  /** Process id of the worker (its process group id too); 0 while it is not running. */
  pid: number;
  address: string;
  cardModel: string;
  vramGb: number;
  metricsUrl: string;
  configFile: string;
  logFile: string;
  faults?: WorkerFaults;
}

/** What a running devnet tells other commands (`triad task --devnet DIR`, the demo, the tests). */
export interface DevnetManifest {
  /** The devnet supervisor's process id. */
  pid: number;
  startedAt: string;
  stateDir: string;
  chainId: number;
  rpcUrl: string;
  /** 0: automine. */
  blockTimeSeconds: number;
  /** Which EVM node runs the chain. */
  chain: "hardhat" | "anvil";
  relayUrl: string;
  /** The OpenAI-compatible bridge: base URL (API under /v1), its devnet API key, the chat page, its fee wallet. */
  bridge: { url: string; apiKey: string; chatPage: string; payer: string };
  /** deployments/<chainId>.json inside the state dir (readable with loadDeployment). */
  deploymentFile: string;
  contracts: { token: string; nodeRegistry: string; taskManager: string; randomness: string };
  /** The folder the workers and the bridge read models from. */
  modelsDir: string;
  /** The models registered on chain at start (id, revision, files digest). */
  models: Array<{ id: string; revision: string; digest: string }>;
  /** The account `triad task --devnet` signs with. */
  clientAccount: ManifestAccount;
  accounts: ManifestAccount[];
  workers: ManifestWorker[];
  logs: { node: string; relay: string; bridge: string };
  /** Process ids (each the id of its own process group). */
  pids: { node: number; relay: number; bridge: number };
  devOnly: "The private keys below are Hardhat's publicly known dev keys: never use them on a real network.";
}

export function manifestPath(stateDir: string): string {
  return path.join(stateDir, MANIFEST_FILE);
}

export async function writeManifest(manifest: DevnetManifest): Promise<string> {
  const file = manifestPath(manifest.stateDir);
  await writeFileAtomic(file, JSON.stringify(manifest, null, 2) + "\n");
  return file;
}

/** Reads the manifest of a running devnet; the error says how to start one. */
export function readManifest(stateDir: string): DevnetManifest {
  const file = manifestPath(stateDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Error(`no running devnet in ${stateDir}: ${file} not found (start one with \`npx triad devnet\`)`);
  }
  try {
    return JSON.parse(text) as DevnetManifest;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

export function removeManifest(stateDir: string): void {
  rmSync(manifestPath(stateDir), { force: true });
}
