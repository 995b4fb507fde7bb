import type { ContractRunner, TransactionReceipt } from "ethers";
import { NodeRegistry__factory } from "../../typechain-types/index.js";
import { TaskManager__factory } from "../../typechain-types/index.js";
import { TriadToken__factory } from "../../typechain-types/index.js";
import type { NodeRegistry, TaskManager, TriadToken } from "../../typechain-types/index.js";
import type { TriadDeployment } from "./deployment.js";

/** The three contracts an off-chain component talks to, typed. */
export interface TriadContracts {
  token: TriadToken;
  registry: NodeRegistry;
  taskManager: TaskManager;
}

/** The deployment's contracts, connected to `runner` (a signer to send transactions, a provider to read only). */
export function connectContracts(
  deployment: Pick<TriadDeployment, "token" | "nodeRegistry" | "taskManager">,
  runner: ContractRunner,
): TriadContracts {
  return {
    token: TriadToken__factory.connect(deployment.token, runner),
    registry: NodeRegistry__factory.connect(deployment.nodeRegistry, runner),
    taskManager: TaskManager__factory.connect(deployment.taskManager, runner),
  };
}

/** The id of the task a createTask transaction created, from its TaskCreated event (the task manager's logs only). */
export async function createdTaskId(taskManager: TaskManager, receipt: TransactionReceipt): Promise<bigint> {
  const address = (await taskManager.getAddress()).toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = taskManager.interface.parseLog(log);
    if (parsed?.name === "TaskCreated") return parsed.args.taskId as bigint;
  }
  throw new Error(`createTask transaction ${receipt.hash} emitted no TaskCreated event`);
}
