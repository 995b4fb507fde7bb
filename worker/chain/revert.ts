import { Interface, isError, type ErrorDescription } from "ethers";
import { NodeRegistry__factory } from "../../typechain-types/index.js";
import { TaskManager__factory } from "../../typechain-types/index.js";
import { TriadToken__factory } from "../../typechain-types/index.js";
import { VrfRandomness__factory } from "../../typechain-types/index.js";

/** Every Triad contract's ABI: their custom errors are what a revert is decoded against. */
const TRIAD_INTERFACES = [TaskManager__factory, NodeRegistry__factory, TriadToken__factory, VrfRandomness__factory].map(
  (factory) => new Interface(factory.abi),
);

/** Revert data found anywhere in an error's cause chain (ethers and Hardhat nest it differently). */
function revertData(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) return data;
    if (isError(e, "CALL_EXCEPTION") && e.data) return e.data;
  }
  return undefined;
}

function decodeCustomError(data: string): ErrorDescription | undefined {
  for (const contract of TRIAD_INTERFACES) {
    const parsed = contract.parseError(data);
    if (parsed) return parsed;
  }
  return undefined;
}

/**
 * A Triad custom error with its named arguments, e.g. "NoGroupForModel(model 0, minVramGb 1, servedVramGb 0)"; a
 * require message or panic as ethers decodes it; undefined for an error that is not a revert.
 */
export function describeRevert(error: unknown): string | undefined {
  const data = revertData(error);
  const parsed = data ? decodeCustomError(data) : undefined;
  if (parsed) {
    const args = parsed.fragment.inputs.map((input, i) => `${input.name || `arg${i}`} ${String(parsed.args[i])}`);
    return `${parsed.name}(${args.join(", ")})`;
  }
  if (isError(error, "CALL_EXCEPTION"))
    return error.revert ? `${error.revert.name}(${error.revert.args.join(", ")})` : (error.reason ?? error.shortMessage);
  return undefined;
}

/** A transaction the contract refused (decoded revert): retrying the same call cannot help. */
export class ContractRefusal extends Error {
  constructor(
    readonly action: string,
    readonly reason: string,
  ) {
    super(`${action} refused by the contract: ${reason}`);
    this.name = "ContractRefusal";
  }
}

/** The refusal inside `error` (a revert of `action`), or undefined for a network or other failure. */
export function asRefusal(action: string, error: unknown): ContractRefusal | undefined {
  if (error instanceof ContractRefusal) return error;
  const reason = describeRevert(error);
  return reason === undefined ? undefined : new ContractRefusal(action, reason);
}

/** Runs one contract call; a revert becomes a one-line ContractRefusal naming `action`, other errors pass through. */
export async function refusalsDecoded<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw asRefusal(action, error) ?? error;
  }
}
