import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ethers } from "ethers";
import { nodeStatusName } from "../worker/chain/enums.js";
import { connectTriad } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface StatusArgs {
  account: number;
  node: string;
}

/** `triad node status`: the registry entry of a node (default: the selected account). */
async function nodeStatus(args: StatusArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const triad = await connectTriad(hre, args.account);
  const address = args.node === "" ? triad.address : args.node;
  if (!ethers.isAddress(address)) throw new Error(`--node must be an address (got "${args.node}")`);
  const node = await triad.registry.getNode(address);
  const status = nodeStatusName(node.status);
  console.log(`Node ${address}`);
  console.log(`  status     ${status}`);
  if (status === "None") return;
  console.log(`  card       ${node.cardModel} (${node.vramGb} GB)`);
  console.log(`  group      ${node.groupId} (${await triad.registry.availableCount(node.groupId)} available)`);
  console.log(`  stake      ${ethers.formatEther(node.stake)} TRIAD`);
  console.log(`  task       ${node.taskId === 0n ? "-" : node.taskId.toString()}`);
  console.log(`  balance    ${ethers.formatEther(await triad.token.balanceOf(address))} TRIAD`);
}

export default readable(nodeStatus);
