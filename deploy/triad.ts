/**
 * Typed deployment of the Triad contracts. Importable from plain Node (tsx) and from Hardhat tasks:
 * it only needs an ethers Signer and the typechain factories produced by `npx hardhat build`.
 */
import { ethers } from "ethers";
import { BlockhashRandomness__factory } from "../typechain-types/factories/BlockhashRandomness__factory.js";
import { NodeRegistry__factory } from "../typechain-types/factories/NodeRegistry__factory.js";
import { TaskManager__factory } from "../typechain-types/factories/TaskManager__factory.js";
import { TriadToken__factory } from "../typechain-types/factories/TriadToken__factory.js";
import type { TriadDeployment, TriadParams } from "../worker/chain/deployment.js";

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
