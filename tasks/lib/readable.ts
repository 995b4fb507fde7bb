import { Interface, isError } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { NodeRegistry__factory } from "../../typechain-types/index.js";
import { TaskManager__factory } from "../../typechain-types/index.js";
import { TriadToken__factory } from "../../typechain-types/index.js";

const contracts = [TaskManager__factory, NodeRegistry__factory, TriadToken__factory].map((f) => new Interface(f.abi));

/** Revert data found anywhere in an error chain (ethers and Hardhat nest it differently). */
function revertData(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) return data;
    if (isError(e, "CALL_EXCEPTION") && e.data) return e.data;
  }
  return undefined;
}

/** "NotExpired(1, 1795534923)" for a Triad custom error, undefined for anything else. */
export function describeRevert(error: unknown): string | undefined {
  const data = revertData(error);
  if (!data) return undefined;
  for (const contract of contracts) {
    const parsed = contract.parseError(data);
    if (parsed) return `${parsed.name}(${parsed.args.map(String).join(", ")})`;
  }
  return undefined;
}

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
