import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { ethers } from "ethers";
import type { TriadToken } from "../../typechain-types/index.js";
import {
  connectContracts,
  loadDeployment,
  parseTaskId as parseTaskIdText,
  type TriadContracts,
  type TriadDeployment,
} from "../../worker/chain/index.js";

export interface TriadConnection extends TriadContracts {
  signer: ethers.Signer;
  address: string;
  deployment: TriadDeployment;
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
    ...connectContracts(deployment, signer),
  };
}

/** Parses the --id option. */
export function parseTaskId(value: string): bigint {
  try {
    return parseTaskIdText(value);
  } catch (error) {
    throw new Error(`--id ${(error as Error).message}`);
  }
}

/** Approves `spender` for `amount` if the allowance is lower. */
export async function ensureAllowance(token: TriadToken, owner: string, spender: string, amount: bigint): Promise<void> {
  if ((await token.allowance(owner, spender)) >= amount) return;
  await (await token.approve(spender, amount)).wait();
}
