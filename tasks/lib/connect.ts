import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { ethers } from "ethers";
import { loadDeployment, type TriadDeployment } from "../../deploy/triad.js";
import { NodeRegistry__factory } from "../../typechain-types/index.js";
import { TaskManager__factory } from "../../typechain-types/index.js";
import { TriadToken__factory } from "../../typechain-types/index.js";
import type { NodeRegistry, TaskManager, TriadToken } from "../../typechain-types/index.js";

export interface TriadConnection {
  signer: ethers.Signer;
  address: string;
  deployment: TriadDeployment;
  token: TriadToken;
  registry: NodeRegistry;
  taskManager: TaskManager;
}

/** The signer at `accountIndex` of the selected network (`--network`). */
export async function signerAt(hre: HardhatRuntimeEnvironment, accountIndex: number): Promise<ethers.Signer> {
  const connection = await hre.network.getOrCreate();
  const signers = await connection.ethers.getSigners();
  const signer = signers[accountIndex];
  if (!signer) throw new Error(`--account ${accountIndex}: the network has ${signers.length} accounts (0..${signers.length - 1})`);
  return signer;
}

/** Connects to the Triad deployment recorded for the selected network's chain id. */
export async function connectTriad(hre: HardhatRuntimeEnvironment, accountIndex: number): Promise<TriadConnection> {
  const signer = await signerAt(hre, accountIndex);
  const network = await signer.provider!.getNetwork();
  const deployment = loadDeployment(network.chainId);
  return {
    signer,
    address: await signer.getAddress(),
    deployment,
    token: TriadToken__factory.connect(deployment.token, signer),
    registry: NodeRegistry__factory.connect(deployment.nodeRegistry, signer),
    taskManager: TaskManager__factory.connect(deployment.taskManager, signer),
  };
}

/** Parses a task id option: a positive integer. */
export function parseTaskId(value: string): bigint {
  if (!/^[1-9][0-9]*$/.test(value)) throw new Error(`--id must be a positive integer task id (got "${value}")`);
  return BigInt(value);
}

/** Approves `spender` for `amount` if the allowance is lower. */
export async function ensureAllowance(token: TriadToken, owner: string, spender: string, amount: bigint): Promise<void> {
  if ((await token.allowance(owner, spender)) >= amount) return;
  await (await token.approve(spender, amount)).wait();
}

export const NODE_STATUS = ["None", "Available", "Busy", "PendingPause", "PendingQuit", "Paused"] as const;
export const TASK_STATUS = ["None", "Queued", "Committing", "Revealing", "Succeeded", "Aborted"] as const;
export const ABORT_REASON = ["None", "Cancelled", "QueueTimeout", "TooFewCommitments", "TooFewReveals", "NoMajority"] as const;
