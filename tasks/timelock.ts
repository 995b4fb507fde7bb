import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ethers } from "ethers";
import { deployTimelock } from "../deploy/triad.js";
import { signerAt } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface TimelockArgs {
  account: number;
  delay: number;
  proposers: string;
  executors: string;
}

function addresses(list: string, option: string): string[] {
  const items = list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const item of items) if (!ethers.isAddress(item)) throw new Error(`${option}: ${item} is not an address`);
  return items;
}

/** `triad timelock`: deploys a TimelockController to pass as `triad deploy --governor`. */
async function timelock(args: TimelockArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const signer = await signerAt(hre, args.account);
  const proposers = args.proposers === "" ? [await signer.getAddress()] : addresses(args.proposers, "--proposers");
  const executors = args.executors === "" ? proposers : addresses(args.executors, "--executors");
  const address = await deployTimelock(signer, { minDelaySeconds: args.delay, proposers, executors });
  console.log(`TimelockController ${address} (delay ${args.delay} s, proposers ${proposers.join(", ")})`);
  console.log(`Deploy Triad with it as governance: npx hardhat triad deploy --governor ${address}`);
}

export default readable(timelock);
