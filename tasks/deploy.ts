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
  randomness: string;
  governor: string;
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
  if (args.randomness !== "vrf-mock" && args.randomness !== "blockhash") {
    throw new Error(`--randomness must be vrf-mock or blockhash (got ${args.randomness})`);
  }
  if (args.governor !== "") {
    if (!ethers.isAddress(args.governor)) throw new Error(`--governor must be an address (got ${args.governor})`);
    params.governor = args.governor;
  }
  const deployment = await deployTriad(signer, params, args.randomness);
  const file = saveDeployment(deployment, args.dir);
  console.log(`Triad deployed on chain ${deployment.chainId} (block ${deployment.blockNumber})`);
  console.log(`  token        ${deployment.token}`);
  console.log(`  nodeRegistry ${deployment.nodeRegistry}`);
  console.log(`  taskManager  ${deployment.taskManager}`);
  console.log(`  randomness   ${deployment.randomness} (${deployment.randomnessKind})`);
  console.log(`  governor     ${deployment.params.governor}`);
  console.log("No card group exists yet: governance adds them (npx hardhat triad group add --card ... --vram ...)");
  console.log(`Recorded in ${file}`);
}

export default readable(deploy);
