import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ethers } from "ethers";
import { abortReasonName, taskStatusName } from "../worker/chain/enums.js";
import { connectTriad, parseTaskId } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface ShowArgs {
  account: number;
  id: string;
}

/** `triad task show`: the on-chain record of a task. */
async function taskShow(args: ShowArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  const taskId = parseTaskId(args.id);
  const triad = await connectTriad(hre, args.account);
  const task = await triad.taskManager.getTask(taskId);
  const status = taskStatusName(task.status);
  if (status === "None") throw new Error(`--id ${taskId}: no such task (task count ${await triad.taskManager.taskCount()})`);
  const [committed, revealed] = await triad.taskManager.taskProgress(taskId);
  const latest = await triad.signer.provider!.getBlock("latest");
  const nodes = task.nodes.filter((n) => n !== ethers.ZeroAddress);
  // The receipt: args hash + registry entry + result hash bind the request, the weights and the answer.
  const model = await triad.registry.getModel(task.model);
  console.log(
    JSON.stringify(
      {
        taskId: taskId.toString(),
        status,
        abortReason: abortReasonName(task.abortReason),
        creator: task.creator,
        argsHash: task.argsHash,
        model: { index: Number(task.model), id: model.id, revision: model.revision, digest: model.digest },
        minVramGb: Number(task.minVramGb),
        fee: task.fee.toString(),
        createdAt: Number(task.createdAt),
        deadline: Number(task.deadline),
        deadlinePassed: latest !== null && latest.timestamp > Number(task.deadline),
        groupId: task.groupId,
        nodes: nodes.map((node, i) => ({
          node,
          committed: ((Number(committed) >> i) & 1) === 1,
          revealed: ((Number(revealed) >> i) & 1) === 1,
        })),
        resultHash: task.resultHash,
      },
      null,
      2,
    ),
  );
}

export default readable(taskShow);
