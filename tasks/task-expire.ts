import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { abortReasonName, taskStatusName } from "../worker/chain/enums.js";
import { connectTriad, parseTaskId } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface ExpireArgs {
  account: number;
  id: string;
}

/** `triad task expire`: advances a task whose phase deadline passed (anyone). */
async function taskExpire(args: ExpireArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const taskId = parseTaskId(args.id);
  const triad = await connectTriad(hre, args.account);
  await (await triad.taskManager.expire(taskId)).wait();
  const task = await triad.taskManager.getTask(taskId);
  const reason = abortReasonName(task.abortReason);
  console.log(`Task ${taskId} is now ${taskStatusName(task.status)}${reason === "None" ? "" : ` (${reason})`}`);
}

export default readable(taskExpire);
