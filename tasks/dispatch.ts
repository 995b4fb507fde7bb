import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { connectTriad } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface DispatchArgs {
  account: number;
  max: number;
}

/** `triad dispatch`: starts queued tasks whose randomness is ready and whose nodes are free. */
async function dispatch(args: DispatchArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  if (!Number.isInteger(args.max) || args.max <= 0) throw new Error(`--max must be a positive integer (got ${args.max})`);
  const triad = await connectTriad(hre, args.account);
  const before = await triad.taskManager.queueLength();
  await (await triad.taskManager.dispatch(args.max)).wait();
  const after = await triad.taskManager.queueLength();
  console.log(`Dispatched ${before - after} task(s); ${after} still queued`);
  if (after > 0n) {
    console.log(
      "A queued task starts once the block after its createTask block has a successor (its hash is the seed) " +
        "and a group has 3 free nodes with enough VRAM: run dispatch again after the next block.",
    );
  }
}

export default readable(dispatch);
