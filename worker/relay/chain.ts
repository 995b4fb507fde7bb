import { FetchRequest, JsonRpcProvider, Network, isError, type Provider } from "ethers";
import { ITaskManager__factory } from "../../typechain-types/index.js";
import { TaskStatus } from "../chain/enums.js";
import { RelayError } from "./errors.js";

/** The part of a task's on-chain record the relay decides with. */
export interface OnChainTask {
  /** An ITaskManager.TaskStatus value (TaskStatus in worker/chain). */
  status: bigint;
  creator: string;
  argsHash: string;
  resultHash: string;
  nodes: string[];
}

export interface ChainHead {
  chainId: bigint;
  blockNumber: number;
}

/** Read access to the chain; injectable so tests can use an in-process network. */
export interface TaskView {
  /** The task manager's address: with the chain id, the domain requests are signed for. */
  readonly taskManager: string;
  /** The task's record, or null when the chain knows no such task. Throws a 503 RelayError when unreachable. */
  getTask(taskId: bigint): Promise<OnChainTask | null>;
  head(): Promise<ChainHead>;
}

const RPC_TIMEOUT_MS = 10_000;

export function chainUnavailable(error: unknown): RelayError {
  const reason = error instanceof Error ? error.message : String(error);
  return new RelayError(503, "chain_unavailable", `the chain RPC could not be read: ${reason}`);
}

/** A TaskView over the task manager at `taskManager`, read through `provider`. */
export function contractTaskView(provider: Provider, taskManager: string): TaskView {
  const contract = ITaskManager__factory.connect(taskManager, provider);
  return {
    taskManager,
    async getTask(taskId) {
      let info: Awaited<ReturnType<typeof contract.getTask>>;
      try {
        info = await contract.getTask(taskId);
      } catch (error) {
        // A revert is the contract refusing the id; anything else means we could not ask.
        if (isError(error, "CALL_EXCEPTION") && error.data != null) return null;
        throw chainUnavailable(error);
      }
      if (info.status === TaskStatus.None) return null;
      return {
        status: info.status,
        creator: info.creator,
        argsHash: info.argsHash,
        resultHash: info.resultHash,
        nodes: [...info.nodes],
      };
    },
    async head() {
      try {
        const [network, blockNumber] = await Promise.all([provider.getNetwork(), provider.getBlockNumber()]);
        return { chainId: network.chainId, blockNumber };
      } catch (error) {
        throw chainUnavailable(error);
      }
    },
  };
}

/**
 * A TaskView over a JSON-RPC URL. The chain id is asked for on first use (and again after a failure), so the
 * relay starts, and reports 503, while the RPC is down, instead of hanging in ethers' network detection.
 */
export function rpcTaskView(rpcUrl: string, taskManager: string): { view: TaskView; close(): void } {
  let connecting: Promise<{ provider: JsonRpcProvider; view: TaskView }> | undefined;

  const connect = async () => {
    const chainId = await requestChainId(rpcUrl);
    const provider = new JsonRpcProvider(rpcRequest(rpcUrl), Network.from(chainId), { staticNetwork: true });
    return { provider, view: contractTaskView(provider, taskManager) };
  };
  const connected = () => {
    connecting ??= connect().catch((error: unknown) => {
      connecting = undefined;
      throw chainUnavailable(error);
    });
    return connecting;
  };

  return {
    view: {
      taskManager,
      getTask: async (taskId) => (await connected()).view.getTask(taskId),
      head: async () => (await connected()).view.head(),
    },
    close() {
      void connecting?.then(
        ({ provider }) => provider.destroy(),
        () => undefined,
      );
    },
  };
}

function rpcRequest(rpcUrl: string): FetchRequest {
  const request = new FetchRequest(rpcUrl);
  request.timeout = RPC_TIMEOUT_MS;
  return request;
}

async function requestChainId(rpcUrl: string): Promise<bigint> {
  const request = rpcRequest(rpcUrl);
  request.setHeader("content-type", "application/json");
  request.body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] });
  const response = await request.send();
  response.assertOk();
  const payload = response.bodyJson as { result?: string; error?: { message?: string } };
  if (typeof payload.result !== "string") {
    throw new Error(`eth_chainId failed: ${payload.error?.message ?? "no result"}`);
  }
  return BigInt(payload.result);
}
