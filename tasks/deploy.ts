import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ethers } from "ethers";
import { deployTriad } from "../deploy/triad.js";
import { saveDeployment, type TriadParams } from "../worker/chain/deployment.js";
import { signerAt } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface DeployArgs {
  account: number;
  stake: string;
  queueWindow: number;
  commitWindow: number;
  revealWindow: number;
  dir: string;
}

/** `triad deploy`: deploys the contracts and records them in deployments/<chainId>.json. */
async function deploy(args: DeployArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const signer = await signerAt(hre, args.account);
  const params: Partial<TriadParams> = {
    stakeAmount: ethers.parseEther(args.stake),
    queueWindow: args.queueWindow,
    commitWindow: args.commitWindow,
    revealWindow: args.revealWindow,
  };
  const deployment = await deployTriad(signer, params);
  const file = saveDeployment(deployment, args.dir);
  console.log(`Triad deployed on chain ${deployment.chainId} (block ${deployment.blockNumber})`);
  console.log(`  token        ${deployment.token}`);
  console.log(`  nodeRegistry ${deployment.nodeRegistry}`);
  console.log(`  taskManager  ${deployment.taskManager}`);
  console.log(`  randomness   ${deployment.randomness}`);
  console.log(`Recorded in ${file}`);
}

export default readable(deploy);
