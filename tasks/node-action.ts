import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { nodeStatusName } from "../worker/chain/enums.js";
import { connectTriad } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface NodeActionArgs {
  account: number;
}

async function run(action: "pause" | "resume" | "quit", args: NodeActionArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const triad = await connectTriad(hre, args.account);
  await (await triad.registry[action]()).wait();
  const node = await triad.registry.getNode(triad.address);
  console.log(`Node ${triad.address}: ${action} sent, status now ${nodeStatusName(node.status)}`);
}

/** `triad node pause`. */
export const pause = readable((args: NodeActionArgs, hre: HardhatRuntimeEnvironment) => run("pause", args, hre));
/** `triad node resume`. */
export const resume = readable((args: NodeActionArgs, hre: HardhatRuntimeEnvironment) => run("resume", args, hre));
/** `triad node quit`. */
export const quit = readable((args: NodeActionArgs, hre: HardhatRuntimeEnvironment) => run("quit", args, hre));
