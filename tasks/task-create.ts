import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { readFileSync } from "node:fs";
import { ethers } from "ethers";
import { createdTaskId } from "../worker/chain/contracts.js";
import { encodeTask, hashBytes } from "../worker/engine/hashing.js";
import { validateTask } from "../worker/engine/validation.js";
import { vramRequirement } from "../worker/client/submit.js";
import { connectTriad, ensureAllowance } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface CreateArgs {
  account: number;
  file: string;
  minVram: number;
  fee: string;
}

/**
 * `triad task create`: the on-chain half of `npx triad task submit`. It validates the task and hashes its
 * canonical JSON (RFC 8785) exactly as the client does, escrows the fee and creates the task, but uploads
 * nothing: the nodes wait until those canonical bytes are on the relay.
 */
async function taskCreate(args: CreateArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  if (args.file === "") throw new Error("--file must name the task JSON file");
  if (!Number.isInteger(args.minVram) || args.minVram < 0)
    throw new Error(`--min-vram must be a positive integer in GB, or 0 for the registry's figure (got ${args.minVram})`);
  let task: unknown;
  try {
    task = JSON.parse(readFileSync(args.file, "utf8"));
  } catch (error) {
    throw new Error(`--file ${args.file} is not valid JSON: ${(error as Error).message}`);
  }
  const validation = validateTask(task);
  if (!validation.ok) throw new Error(`--file ${args.file}: ${validation.message}`);
  const argsHash = hashBytes(encodeTask(task));
  const fee = ethers.parseEther(args.fee);

  const triad = await connectTriad(hre, args.account);
  const taskManagerAddress = await triad.taskManager.getAddress();
  await ensureAllowance(triad.token, triad.address, taskManagerAddress, fee);
  // The registered model and the VRAM of the variant the task selects (a variant it does not offer is refused).
  const needed = await vramRequirement(triad, task).catch((error: unknown) => {
    throw new Error(`--file ${args.file}: ${(error as Error).message}`);
  });
  const { model } = needed;
  if (args.minVram !== 0 && args.minVram < needed.vramGb) {
    throw new Error(
      `--min-vram ${args.minVram} is below the ${needed.vramGb} GB the ${needed.variant} variant of ${needed.modelId} needs ` +
        "(registered): the nodes would answer invalid_task",
    );
  }
  const minVramGb = args.minVram === 0 ? needed.vramGb : args.minVram;
  const receipt = (await (await triad.taskManager.createTask(argsHash, model, minVramGb, fee)).wait())!;
  const taskId = await createdTaskId(triad.taskManager, receipt);

  console.log(
    JSON.stringify(
      {
        taskId: taskId.toString(),
        argsHash,
        model: model.toString(),
        file: args.file,
        minVramGb,
        fee: fee.toString(),
        creator: triad.address,
        chainId: triad.deployment.chainId,
        taskManager: taskManagerAddress,
        blockNumber: receipt.blockNumber,
      },
      null,
      2,
    ),
  );
  console.error(
    `Not uploaded: the nodes wait for the task's canonical JSON (RFC 8785) on the relay under task ${taskId}.` +
      " `npx triad task submit FILE` creates a task and uploads it in one step.",
  );
}

export default readable(taskCreate);
