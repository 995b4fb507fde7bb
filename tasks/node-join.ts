import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ethers } from "ethers";
import { connectTriad, ensureAllowance } from "./lib/connect.js";
import { findGroup } from "./lib/groups.js";
import { readable } from "./lib/readable.js";

interface JoinArgs {
  account: number;
  group: number;
  card: string;
  vram: number;
}

/** `triad node join`: approves the stake and joins a governed group, by id or by (card model, VRAM). */
async function nodeJoin(args: JoinArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const triad = await connectTriad(hre, args.account);
  let groupId: bigint;
  if (args.group >= 0) {
    groupId = BigInt(args.group);
  } else {
    if (args.card.trim() === "") {
      throw new Error('give --group ID, or --card (the GPU card model, e.g. "NVIDIA H100 80GB HBM3") and --vram');
    }
    if (!Number.isInteger(args.vram) || args.vram <= 0) throw new Error(`--vram must be a positive integer in GB (got ${args.vram})`);
    groupId = await findGroup(triad.registry, args.card, args.vram);
  }
  const stake = await triad.registry.stakeAmount();
  await ensureAllowance(triad.token, triad.address, await triad.registry.getAddress(), stake);
  await (await triad.registry.join(groupId)).wait();
  const group = await triad.registry.groupAt(groupId);
  const staked = ethers.formatEther(stake);
  console.log(`Node ${triad.address} joined group ${groupId} (${group.cardModel}, ${group.vramGb} GB), stake ${staked} TRIAD`);
}

export default readable(nodeJoin);
