import { type BlockTag, type Provider, type SigningKey, type TransactionRequest, Wallet } from "ethers";

/**
 * Room for the work a transaction may trigger beyond its own estimate: createTask and the phase-ending commit,
 * reveal or expire also dispatch queued tasks (autoDispatchScan of them, default 4) whose draws depend on the block
 * the transaction lands in. Unused gas is not charged.
 */
export const TRIGGERED_WORK_GAS = 1_500_000n;

export interface ChainWalletOptions {
  /**
   * Gas added to every estimate. A commit, reveal or expire cannot know at estimate time whether it will land as
   * the transaction that ends a phase (settling the task, paying and releasing its nodes, dispatching queued tasks),
   * which costs several times more: without room for that it runs out of gas exactly when it matters.
   */
  gasHeadroom?: bigint;
}

/**
 * A Wallet whose "pending" nonce is never below its "latest" one. Right after a transaction is mined, some nodes
 * (anvil 1.7, measured) still answer the pending count from before it, and the next transaction then fails with
 * "nonce has already been used"; the mined count is always right, so taking the larger of the two is safe.
 */
export class ChainWallet extends Wallet {
  readonly #gasHeadroom: bigint;

  constructor(key: string | SigningKey, provider?: Provider | null, options: ChainWalletOptions = {}) {
    super(key, provider);
    this.#gasHeadroom = options.gasHeadroom ?? 0n;
  }

  override async getNonce(blockTag?: BlockTag): Promise<number> {
    if (blockTag !== "pending") return super.getNonce(blockTag);
    const [pending, latest] = await Promise.all([super.getNonce("pending"), super.getNonce("latest")]);
    return Math.max(pending, latest);
  }

  override async estimateGas(tx: TransactionRequest): Promise<bigint> {
    return (await super.estimateGas(tx)) + this.#gasHeadroom;
  }
}
