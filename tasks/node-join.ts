import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ethers } from "ethers";
import { connectTriad, ensureAllowance } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface JoinArgs {
  account: number;
  card: string;
  vram: number;
}

/** `triad node join`: approves the stake and joins the group (card model, VRAM). */
async function nodeJoin(args: JoinArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  if (args.card.trim() === "") throw new Error("--card must name the GPU card model (e.g. \"NVIDIA H100 80GB HBM3\")");
  if (!Number.isInteger(args.vram) || args.vram <= 0) throw new Error(`--vram must be a positive integer in GB (got ${args.vram})`);
  const triad = await connectTriad(hre, args.account);
  const stake = await triad.registry.stakeAmount();
  await ensureAllowance(triad.token, triad.address, await triad.registry.getAddress(), stake);
  await (await triad.registry.join(args.card, args.vram)).wait();
  const groupId = await triad.registry.groupIdOf(args.card, args.vram);
  console.log(`Node ${triad.address} joined group ${groupId} (${args.card}, ${args.vram} GB), stake ${ethers.formatEther(stake)} TRIAD`);
}

export default readable(nodeJoin);
