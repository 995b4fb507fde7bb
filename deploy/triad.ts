/**
 * Typed deployment of the Triad contracts. Importable from plain Node (tsx) and from Hardhat tasks:
 * it only needs an ethers Signer and the typechain factories produced by `npx hardhat build`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ethers } from "ethers";
import { BlockhashRandomness__factory } from "../typechain-types/factories/BlockhashRandomness__factory.js";
import { NodeRegistry__factory } from "../typechain-types/factories/NodeRegistry__factory.js";
import { TaskManager__factory } from "../typechain-types/factories/TaskManager__factory.js";
import { TriadToken__factory } from "../typechain-types/factories/TriadToken__factory.js";

export interface TriadParams {
  /** Stake a node locks on join, token wei. */
  stakeAmount: bigint;
  /** Share of a slashed stake sent to the treasury, basis points (1..10000). */
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
}

export interface TriadDeployment {
  chainId: number;
  token: string;
  nodeRegistry: string;
  taskManager: string;
  randomness: string;
  deployer: string;
  blockNumber: number;
  params: TriadParams;
}

/** Devnet defaults: real tasks take seconds, so two-minute commit and reveal windows. */
export function defaultParams(treasury: string): TriadParams {
  return {
    stakeAmount: ethers.parseEther("400"),
    slashBps: 10_000,
    minFee: ethers.parseEther("1"),
    queueWindow: 600,
    commitWindow: 120,
    revealWindow: 120,
    nodeShareBps: 9_500,
    maxQueueLength: 64,
    autoDispatchScan: 4,
    treasury,
  };
}

/**
 * Deploys token, randomness source, node registry and task manager, and grants the task manager
 * TASK_MANAGER_ROLE on the registry. The deployer keeps admin and MINTER roles.
 */
export async function deployTriad(deployer: ethers.Signer, params: Partial<TriadParams> = {}): Promise<TriadDeployment> {
  const provider = deployer.provider;
  if (!provider) throw new Error("deployTriad: the deployer signer must be connected to a provider");
  const deployerAddress = await deployer.getAddress();
  const full: TriadParams = { ...defaultParams(deployerAddress), ...params };
  validateParams(full);
  const firstBlock = await provider.getBlockNumber();

  const token = await new TriadToken__factory(deployer).deploy(deployerAddress);
  await token.waitForDeployment();
  const randomness = await new BlockhashRandomness__factory(deployer).deploy();
  await randomness.waitForDeployment();
  const registry = await new NodeRegistry__factory(deployer).deploy(
    await token.getAddress(),
    deployerAddress,
    full.treasury,
    full.stakeAmount,
    full.slashBps,
  );
  await registry.waitForDeployment();
  const taskManager = await new TaskManager__factory(deployer).deploy({
    token: await token.getAddress(),
    nodePool: await registry.getAddress(),
    randomness: await randomness.getAddress(),
    admin: deployerAddress,
    treasury: full.treasury,
    minFee: full.minFee,
    queueWindow: full.queueWindow,
    commitWindow: full.commitWindow,
    revealWindow: full.revealWindow,
    nodeShareBps: full.nodeShareBps,
    maxQueueLength: full.maxQueueLength,
    autoDispatchScan: full.autoDispatchScan,
  });
  await taskManager.waitForDeployment();
  const grant = await registry.grantRole(await registry.TASK_MANAGER_ROLE(), await taskManager.getAddress());
  await grant.wait();

  return {
    chainId: Number((await provider.getNetwork()).chainId),
    token: await token.getAddress(),
    nodeRegistry: await registry.getAddress(),
    taskManager: await taskManager.getAddress(),
    randomness: await randomness.getAddress(),
    deployer: deployerAddress,
    blockNumber: firstBlock + 1,
    params: full,
  };
}

function validateParams(p: TriadParams): void {
  const rules: Array<[keyof TriadParams, boolean, string]> = [
    ["stakeAmount", p.stakeAmount > 0n, "must be > 0"],
    ["slashBps", Number.isInteger(p.slashBps) && p.slashBps >= 1 && p.slashBps <= 10_000, "must be an integer in 1..10000"],
    ["minFee", p.minFee >= 0n, "must be >= 0"],
    ["queueWindow", Number.isInteger(p.queueWindow) && p.queueWindow > 0, "must be a positive integer (seconds)"],
    ["commitWindow", Number.isInteger(p.commitWindow) && p.commitWindow > 0, "must be a positive integer (seconds)"],
    ["revealWindow", Number.isInteger(p.revealWindow) && p.revealWindow > 0, "must be a positive integer (seconds)"],
    ["nodeShareBps", Number.isInteger(p.nodeShareBps) && p.nodeShareBps >= 0 && p.nodeShareBps <= 10_000, "must be an integer in 0..10000"],
    ["maxQueueLength", Number.isInteger(p.maxQueueLength) && p.maxQueueLength >= 1 && p.maxQueueLength <= 256, "must be an integer in 1..256"],
    ["autoDispatchScan", Number.isInteger(p.autoDispatchScan) && p.autoDispatchScan >= 0 && p.autoDispatchScan <= 64, "must be an integer in 0..64"],
    ["treasury", ethers.isAddress(p.treasury), "must be an address"],
  ];
  for (const [field, ok, rule] of rules) {
    if (!ok) throw new Error(`deployTriad: params.${field} ${rule} (got ${String(p[field])})`);
  }
}

const BIGINT_PARAMS = ["stakeAmount", "minFee"] as const;

/** Writes `<dir>/<chainId>.json` (bigints as decimal strings) and returns the file path. */
export function saveDeployment(d: TriadDeployment, dir = "deployments"): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${d.chainId}.json`);
  const json = {
    ...d,
    params: { ...d.params, stakeAmount: d.params.stakeAmount.toString(), minFee: d.params.minFee.toString() },
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + "\n");
  return file;
}

/** Reads `<dir>/<chainId>.json` written by saveDeployment. */
export function loadDeployment(chainId: number | bigint, dir = "deployments"): TriadDeployment {
  const file = path.join(dir, `${chainId}.json`);
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch {
    throw new Error(`No Triad deployment for chain ${chainId}: ${file} not found (run \`npx hardhat triad:deploy\`)`);
  }
  const json = JSON.parse(raw) as TriadDeployment & { params: Record<string, unknown> };
  const params = { ...json.params } as unknown as TriadParams;
  for (const key of BIGINT_PARAMS) params[key] = BigInt(String(json.params[key]));
  return { ...json, params };
}
