import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { describeRevert } from "../../worker/chain/revert.js";

/**
 * Wraps a task action so that a transaction the contracts refuse prints the decoded custom error (see the
 * errors in contracts/*.sol) instead of a provider stack trace, and exits with code 1.
 */
export function readable<Args>(action: (args: Args, hre: HardhatRuntimeEnvironment) => Promise<void>) {
  return async (args: Args, hre: HardhatRuntimeEnvironment): Promise<void> => {
    try {
      await action(args, hre);
    } catch (error) {
      const revert = describeRevert(error);
      if (!revert) throw error;
      console.error(`error: the contract refused the transaction: ${revert}`);
      process.exitCode = 1;
    }
  };
}
