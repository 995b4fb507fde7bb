import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ethers } from "ethers";
import { connectTriad } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface FaucetArgs {
  account: number;
  to: string;
  amount: string;
}

/** `triad faucet`: mints tokens (the account needs MINTER_ROLE; the deployer has it on a devnet). */
async function faucet(args: FaucetArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const triad = await connectTriad(hre, args.account);
  const to = args.to === "" ? triad.address : args.to;
  if (!ethers.isAddress(to)) throw new Error(`--to must be an address (got "${args.to}")`);
  const amount = ethers.parseEther(args.amount);
  await (await triad.token.mint(to, amount)).wait();
  console.log(`Minted ${args.amount} TRIAD to ${to}; balance ${ethers.formatEther(await triad.token.balanceOf(to))}`);
}

export default readable(faucet);
