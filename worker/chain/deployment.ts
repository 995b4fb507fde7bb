import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isAddress } from "ethers";

/** The contracts' parameters as deployed (deploy/triad.ts sets and checks them). */
export interface TriadParams {
  /** Stake a node locks on join, token wei. */
  stakeAmount: bigint;
  /** Share of a slashed stake sent to the treasury, basis points (1..10000); fixed into each task at creation. */
  slashBps: number;
  /** Smallest accepted task fee, token wei. */
  minFee: bigint;
  /** Seconds a task may wait in the queue for nodes. */
  queueWindow: number;
  /** Seconds the selected nodes have to commit. */
  commitWindow: number;
  /** Seconds the committed nodes have to reveal. */
  revealWindow: number;
  /** Share of the fee paid to the matching nodes, basis points (rest to the treasury). */
  nodeShareBps: number;
  /** Most tasks waiting in the queue (1..256). */
  maxQueueLength: number;
  /** Queued tasks examined for dispatch inside createTask and settlements (0..64). */
  autoDispatchScan: number;
  /** Receives slashed stake and the treasury fee share; defaults to the deployer. */
  treasury: string;
  /** Holds governance (card groups, parameters, kick): a TimelockController on a real deployment; defaults to the deployer. */
  governor: string;
}

/** Where the Triad contracts of one chain live: the record `deployments/<chainId>.json` holds. */
export interface TriadDeployment {
  chainId: number;
  token: string;
  nodeRegistry: string;
  taskManager: string;
  randomness: string;
  /** "vrf" (pushed in the coordinator's fulfilment) or "blockhash" (read at dispatch). */
  randomnessKind: "vrf" | "blockhash";
  /** The VRF coordinator (the mock on a devnet), when randomnessKind is "vrf". */
  vrfCoordinator?: string;
  deployer: string;
  /** The block before the first contract's; event scans start here. */
  blockNumber: number;
  params: TriadParams;
}

export const DEFAULT_DEPLOYMENTS_DIR = "deployments";

const ADDRESS_FIELDS = ["token", "nodeRegistry", "taskManager", "randomness", "deployer"] as const;
const BIGINT_PARAMS = ["stakeAmount", "minFee"] as const;

/** Writes `<dir>/<chainId>.json` (bigints as decimal strings) and returns the file path. */
export function saveDeployment(deployment: TriadDeployment, dir = DEFAULT_DEPLOYMENTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${deployment.chainId}.json`);
  const params = { ...deployment.params, stakeAmount: String(deployment.params.stakeAmount), minFee: String(deployment.params.minFee) };
  writeFileSync(file, JSON.stringify({ ...deployment, params }, null, 2) + "\n");
  return file;
}

/** Reads `<dir>/<chainId>.json`, written by saveDeployment, for the chain `chainId`. */
export function loadDeployment(chainId: number | bigint, dir = DEFAULT_DEPLOYMENTS_DIR): TriadDeployment {
  const file = path.join(dir, `${chainId}.json`);
  if (!existsSync(file)) throw new Error(`No Triad deployment for chain ${chainId}: ${file} not found (run \`npx hardhat triad deploy\`)`);
  return readDeploymentFile(file, chainId);
}

/** Reads a deployment record by its path (a file written by saveDeployment); with `chainId`, it must be for that chain. */
export function readDeploymentFile(file: string, chainId?: number | bigint): TriadDeployment {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`the deployment file ${file} could not be read: ${(error as Error).message}`);
  }
  const deployment = parseDeployment(text, file);
  if (chainId !== undefined && BigInt(deployment.chainId) !== BigInt(chainId)) {
    throw new Error(`${file} is the deployment on chain ${deployment.chainId}, but the RPC endpoint serves chain ${chainId}`);
  }
  return deployment;
}

/** Parses and checks a deployment record; errors name the file, the field and the rule. */
export function parseDeployment(text: string, file: string): TriadDeployment {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
  const fail = (field: string, rule: string): never => {
    throw new Error(`${file}: ${field} ${rule} (got ${JSON.stringify(field.split(".").reduce<unknown>(pick, json))})`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${file} must hold a JSON object`);
  for (const field of ["chainId", "blockNumber"] as const) {
    if (!Number.isSafeInteger(json[field]) || (json[field] as number) < 0) fail(field, "must be a non-negative integer");
  }
  for (const field of ADDRESS_FIELDS) {
    if (typeof json[field] !== "string" || !isAddress(json[field])) fail(field, "must be a 0x-prefixed address");
  }
  const rawParams = json.params;
  if (typeof rawParams !== "object" || rawParams === null) fail("params", "must be an object");
  const params = { ...(rawParams as Record<string, unknown>) };
  for (const key of BIGINT_PARAMS) {
    if (typeof params[key] !== "string" || !/^[0-9]+$/.test(params[key])) fail(`params.${key}`, "must be a decimal string (token wei)");
    params[key] = BigInt(params[key] as string);
  }
  if (json.randomnessKind !== "vrf" && json.randomnessKind !== "blockhash") fail("randomnessKind", 'must be "vrf" or "blockhash"');
  if (json.randomnessKind === "vrf" && (typeof json.vrfCoordinator !== "string" || !isAddress(json.vrfCoordinator))) {
    fail("vrfCoordinator", 'must be the VRF coordinator\'s address when randomnessKind is "vrf"');
  }
  if (typeof params.governor !== "string" || !isAddress(params.governor)) fail("params.governor", "must be a 0x-prefixed address");
  return { ...(json as unknown as TriadDeployment), params: params as unknown as TriadParams };
}

function pick(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}
