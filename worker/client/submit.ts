import { createdTaskId } from "../chain/contracts.js";
import { encodeTask, hashBytes, validateTask } from "../engine/index.js";
import type { ClientConnection } from "./connection.js";

export interface SubmitTaskOptions {
  /** Token wei escrowed for the nodes; default: the task manager's minimum fee. */
  fee?: bigint;
  /** Only nodes with at least this much VRAM (GB) may run the task; default 1 (any group). */
  minVramGb?: number;
  /** false submits a task that fails validation (the nodes then agree on its error outcome). Default true. */
  validate?: boolean;
  /**
   * Allowance to grant the task manager when the current one is below the fee. Default: exactly the fee (one
   * approve transaction per task). A service that pays many fees (the bridge) grants a standing allowance.
   */
  approve?: bigint;
}

export interface SubmittedTask {
  taskId: bigint;
  argsHash: `0x${string}`;
  fee: bigint;
  minVramGb: number;
  createTxHash: string;
  /** Bytes uploaded to the relay (the canonical JSON of the task). */
  bytes: Uint8Array;
}

/**
 * createTask also starts queued tasks whose randomness became ready. Readiness depends on the block the
 * transaction lands in, which can be later than the block the estimate ran on: leave room for those draws.
 */
const AUTO_DISPATCH_HEADROOM = 1_500_000n;

export class InvalidTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidTaskError";
  }
}

/**
 * Creates a task on-chain and uploads its arguments: validates, encodes canonically (RFC 8785), approves the fee,
 * calls createTask with keccak256 of those bytes, then puts the same bytes on the relay.
 */
export async function submitTask(conn: ClientConnection, task: unknown, options: SubmitTaskOptions = {}): Promise<SubmittedTask> {
  if (options.validate !== false) {
    const validation = validateTask(task);
    if (!validation.ok) throw new InvalidTaskError(validation.message);
  }
  // The registered model the task document names (refused on chain unless an active group serves it).
  const modelId = modelIdOf(task);
  const model = await conn.registry.modelIndexOf(modelId).catch((error: unknown) => {
    if (!isUnknownModelId(conn, error)) throw error;
    throw new InvalidTaskError(`$.model: ${JSON.stringify(modelId)} is not a registered model (npx hardhat triad model list)`);
  });
  const minVramGb = options.minVramGb ?? 1;
  if (!Number.isInteger(minVramGb) || minVramGb < 1 || minVramGb > 0xffff_ffff) {
    throw new RangeError(`minVramGb must be a positive integer (got ${minVramGb})`);
  }
  const minimumFee = await conn.taskManager.minFee();
  const fee = options.fee ?? minimumFee;
  if (fee < minimumFee) throw new RangeError(`fee ${fee} is below the task manager's minimum fee ${minimumFee} (token wei)`);

  const bytes = encodeTask(task);
  const argsHash = hashBytes(bytes);
  const allowance = await conn.token.allowance(conn.address, conn.deployment.taskManager);
  if (allowance < fee) {
    const amount = options.approve ?? fee;
    if (amount < fee) throw new RangeError(`approve (${amount}) must cover the fee (${fee})`);
    await (await conn.token.approve(conn.deployment.taskManager, amount)).wait();
  }

  const estimate = await conn.taskManager.createTask.estimateGas(argsHash, model, minVramGb, fee);
  const tx = await conn.taskManager.createTask(argsHash, model, minVramGb, fee, { gasLimit: estimate + AUTO_DISPATCH_HEADROOM });
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) throw new Error(`createTask transaction ${tx.hash} failed`);
  const taskId = await createdTaskId(conn.taskManager, receipt);

  await conn.relay.putArgs(taskId, bytes);
  return { taskId, argsHash, fee, minVramGb, createTxHash: tx.hash, bytes };
}

function modelIdOf(task: unknown): string {
  const model = (task as { model?: unknown } | null)?.model;
  if (typeof model !== "string") throw new InvalidTaskError("$.model: must be the id of a registered model");
  return model;
}

/** The registry's UnknownModelId revert, as ethers (revert data) or an in-process node (message) reports it. */
function isUnknownModelId(conn: ClientConnection, error: unknown): boolean {
  const selector = conn.registry.interface.getError("UnknownModelId")!.selector.slice(2);
  const { message, data } = error as { message?: string; data?: unknown };
  return String(message).includes("UnknownModelId") || (typeof data === "string" && data.includes(selector));
}
