import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { connectTriad, parseTaskId } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface CancelArgs {
  account: number;
  id: string;
}

/** `triad task cancel`: the creator cancels a queued task for a full refund. */
async function taskCancel(args: CancelArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const taskId = parseTaskId(args.id);
  const triad = await connectTriad(hre, args.account);
  await (await triad.taskManager.cancel(taskId)).wait();
  console.log(`Task ${taskId} cancelled; fee refunded to ${triad.address}`);
}

export default readable(taskCancel);
