import { isError } from "ethers";
import { createdTaskId } from "../chain/contracts.js";
import { describeRevert, refusalsDecoded } from "../chain/revert.js";
import { TRIGGERED_WORK_GAS } from "../chain/wallet.js";
import { encodeTask, hashBytes, validateTask, type TaskDtype } from "../engine/index.js";
import { TaskRejection } from "../engine/errors.js";
import { formatVariantVram, registeredVariants, variantForTask, type OnnxVariant } from "../engine/variants.js";
import { MAX_ARGS_BYTES } from "../relay/protocol.js";
import type { ClientConnection } from "./connection.js";
import { withRpcRetries } from "./rpc-retry.js";

export interface SubmitTaskOptions {
  /** Token wei escrowed for the nodes; default: the task manager's minimum fee. */
  fee?: bigint;
  /**
   * Only nodes with at least this much VRAM (GB) may run the task. Default: the VRAM the registry records for the
   * ONNX variant the task's dtype / quantize_bits selects (auto: the registered auto variant), raised to
   * `minVramFloorGb`. Below that VRAM it is refused before anything is paid (the nodes would answer invalid_task).
   */
  minVramGb?: number;
  /** With minVramGb unset: the least VRAM to ask for even when the variant needs less (the bridge's config). */
  minVramFloorGb?: number;
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

export class InvalidTaskError extends Error {
  /** `field`: the task field at fault (`$.dtype`, `$.quantize_bits`), when one is. */
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "InvalidTaskError";
  }
}

/** The registered model a task names and the VRAM the variant it selects needs (registry figures). */
export interface VramRequirement {
  model: bigint;
  modelId: string;
  variant: OnnxVariant | "smallest";
  vramGb: number;
  /** The task field that selected the variant. */
  field: "$.dtype" | "$.quantize_bits";
}

/**
 * Reads the registry entry of the model the task names and the VRAM of the variant its dtype / quantize_bits
 * selects, as every node computes it (worker/engine/variants.ts registeredVariantFor; auto = the registered auto
 * variant). InvalidTaskError for an unregistered model (`$.model`) or a variant the model does not offer (naming
 * `$.dtype` or `$.quantize_bits`). With `strict` false (an unvalidated task) a dtype that selects no variant at all
 * gets the smallest variant's VRAM: the nodes answer it with an error result whatever VRAM it asks for.
 */
export async function vramRequirement(conn: Pick<ClientConnection, "registry">, task: unknown, strict = true): Promise<VramRequirement> {
  const modelId = modelIdOf(task);
  const model = await conn.registry.modelIndexOf(modelId).catch((error: unknown) => {
    if (!describeRevert(error)?.startsWith("UnknownModelId")) throw error;
    throw new InvalidTaskError(`$.model: ${JSON.stringify(modelId)} is not a registered model (npx hardhat triad model list)`, "$.model");
  });
  const entry = await withRpcRetries(`reading the registry entry of ${modelId}`, () => conn.registry.getModel(model));
  const registered = registeredVariants(entry);
  const { dtype, quantize_bits: quantizeBits } = (task ?? {}) as { dtype?: TaskDtype; quantize_bits?: 4 | 8 };
  const field = quantizeBits !== undefined ? "$.quantize_bits" : "$.dtype";
  let variant: OnnxVariant;
  try {
    variant = variantForTask(dtype, quantizeBits, registered.autoVariant).variant;
  } catch (error) {
    if (!(error instanceof TaskRejection)) throw error;
    if (!strict) return { model, modelId, variant: "smallest", vramGb: Number(entry.vramGb), field };
    throw new InvalidTaskError(`${field}: ${error.message}`, field);
  }
  const vramGb = registered.variantVramGb[variant] ?? 0;
  if (vramGb === 0) {
    throw new InvalidTaskError(
      `${field}: selects the ${variant} variant, which the registered model ${modelId} does not offer ` +
        `(offered: ${formatVariantVram(registered.variantVramGb)} GB; auto = ${registered.autoVariant})`,
      field,
    );
  }
  return { model, modelId, variant, vramGb, field };
}

/**
 * Uploads a task's arguments, then creates it on-chain: validates, encodes canonically (RFC 8785), checks the
 * relay's size limit, uploads the bytes to the relay as pending arguments, approves the fee and calls createTask
 * with keccak256 of those bytes. Nothing is paid unless the relay holds the arguments. A transaction the contracts
 * refuse rejects with a ContractRefusal naming the decoded custom error and its arguments.
 */
export async function submitTask(conn: ClientConnection, task: unknown, options: SubmitTaskOptions = {}): Promise<SubmittedTask> {
  if (options.validate !== false) {
    const validation = validateTask(task);
    if (!validation.ok) throw new InvalidTaskError(validation.message);
  }
  for (const [name, value] of [
    ["minVramGb", options.minVramGb],
    ["minVramFloorGb", options.minVramFloorGb],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 0xffff_ffff)) {
      throw new RangeError(`${name} must be a positive integer (got ${value})`);
    }
  }
  // The registered model the task document names (refused on chain unless an active group serves it) and the VRAM
  // of the variant it selects.
  const needed = await vramRequirement(conn, task, options.validate !== false);
  const { model, modelId } = needed;
  if (options.minVramGb !== undefined && options.minVramGb < needed.vramGb) {
    throw new RangeError(
      `minVramGb ${options.minVramGb} is below the ${needed.vramGb} GB the ${needed.variant} variant of ${modelId} needs ` +
        `(registered; selected by ${needed.field}): the nodes would answer invalid_task`,
    );
  }
  const minVramGb = options.minVramGb ?? Math.max(needed.vramGb, options.minVramFloorGb ?? 1);
  const minimumFee = await withRpcRetries("reading the minimum fee", () => conn.taskManager.minFee());
  const fee = options.fee ?? minimumFee;
  if (fee < minimumFee) throw new RangeError(`fee ${fee} is below the task manager's minimum fee ${minimumFee} (token wei)`);

  const bytes = encodeTask(task);
  if (bytes.length > MAX_ARGS_BYTES) {
    throw new InvalidTaskError(`the task encodes to ${bytes.length} bytes; the relay accepts task arguments up to ${MAX_ARGS_BYTES} bytes`);
  }
  const argsHash = hashBytes(bytes);
  // The arguments reach the relay before any fee is committed; the relay gives them to the task created below.
  await conn.relay.putPendingArgs(bytes);
  const allowance = await withRpcRetries("reading the fee allowance", () =>
    conn.token.allowance(conn.address, conn.deployment.taskManager),
  );
  if (allowance < fee) {
    const amount = options.approve ?? fee;
    if (amount < fee) throw new RangeError(`approve (${amount}) must cover the fee (${fee})`);
    await refusalsDecoded("approve", () =>
      withFreshNonceOnce(conn, async () => (await conn.token.approve(conn.deployment.taskManager, amount)).wait()),
    );
  }

  const { tx, receipt } = await refusalsDecoded("createTask", () =>
    withFreshNonceOnce(conn, async () => {
      const estimate = await withRpcRetries("estimating createTask", () =>
        conn.taskManager.createTask.estimateGas(argsHash, model, minVramGb, fee),
      );
      const sent = await conn.taskManager.createTask(argsHash, model, minVramGb, fee, { gasLimit: estimate + TRIGGERED_WORK_GAS });
      return { tx: sent, receipt: await sent.wait() };
    }),
  );
  if (receipt === null || receipt.status !== 1) throw new Error(`createTask transaction ${tx.hash} failed`);
  const taskId = await createdTaskId(conn.taskManager, receipt);
  return { taskId, argsHash, fee, minVramGb, createTxHash: tx.hash, bytes };
}

/**
 * The connection's NonceManager counts the account's transactions itself; another sender on the same account (the
 * CLI next to a long-running client) or a reorganisation makes that count wrong. On a nonce refusal it is re-read
 * from the chain and the transaction sent once more.
 */
async function withFreshNonceOnce<T>(conn: ClientConnection, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (!isNonceError(error)) throw error;
    conn.signer.reset();
    return send();
  }
}

function isNonceError(error: unknown): boolean {
  return isError(error, "NONCE_EXPIRED") || /nonce too (high|low)|nonce has already been used/i.test(String((error as Error)?.message));
}

function modelIdOf(task: unknown): string {
  const model = (task as { model?: unknown } | null)?.model;
  if (typeof model !== "string") throw new InvalidTaskError("$.model: must be the id of a registered model", "$.model");
  return model;
}
