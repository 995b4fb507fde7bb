import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { readFileSync } from "node:fs";
import { ethers } from "ethers";
import { connectTriad, ensureAllowance } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface CreateArgs {
  account: number;
  file: string;
  minVram: number;
  fee: string;
}

/**
 * `triad task create`: stores keccak256 of the task file's exact bytes on-chain, escrows the fee and prints
 * the task id plus what a worker and the relay need.
 */
async function taskCreate(args: CreateArgs, hre: HardhatRuntimeEnvironment): Promise<void> {
  if (args.file === "") throw new Error("--file must name the task JSON file");
  if (!Number.isInteger(args.minVram) || args.minVram <= 0) throw new Error(`--min-vram must be a positive integer in GB (got ${args.minVram})`);
  const bytes = readFileSync(args.file);
  try {
    JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new Error(`--file ${args.file} is not valid JSON: ${(error as Error).message}`);
  }
  const argsHash = ethers.keccak256(bytes);
  const fee = ethers.parseEther(args.fee);

  const triad = await connectTriad(hre, args.account);
  const taskManagerAddress = await triad.taskManager.getAddress();
  await ensureAllowance(triad.token, triad.address, taskManagerAddress, fee);
  const receipt = await (await triad.taskManager.createTask(argsHash, args.minVram, fee)).wait();
  const created = receipt!.logs
    .map((log) => triad.taskManager.interface.parseLog(log))
    .find((parsed) => parsed?.name === "TaskCreated");
  if (!created) throw new Error("createTask succeeded but emitted no TaskCreated event");
  const taskId: bigint = created.args.taskId;

  console.log(JSON.stringify({
    taskId: taskId.toString(),
    argsHash,
    file: args.file,
    minVramGb: args.minVram,
    fee: fee.toString(),
    creator: triad.address,
    chainId: triad.deployment.chainId,
    taskManager: taskManagerAddress,
    blockNumber: receipt!.blockNumber,
  }, null, 2));
  console.error(`Upload the file's exact bytes to the relay under task ${taskId}; nodes are drawn from block ${receipt!.blockNumber + 1}'s hash.`);
}

export default readable(taskCreate);
