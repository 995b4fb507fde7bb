import { Wallet, type BlockTag } from "ethers";

/**
 * A Wallet whose "pending" nonce is never below its "latest" one. Right after a transaction is mined, some nodes
 * (anvil 1.7, measured) still answer the pending count from before it, and the next transaction then fails with
 * "nonce has already been used"; the mined count is always right, so taking the larger of the two is safe.
 */
export class ChainWallet extends Wallet {
  override async getNonce(blockTag?: BlockTag): Promise<number> {
    if (blockTag !== "pending") return super.getNonce(blockTag);
    const [pending, latest] = await Promise.all([super.getNonce("pending"), super.getNonce("latest")]);
    return Math.max(pending, latest);
  }
}
