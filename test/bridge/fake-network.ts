import { expect } from "chai";
import OpenAI from "openai";
import { parseEther } from "ethers";
import type { TaskResult } from "../../worker/client/result.js";
import { TaskTimeoutError } from "../../worker/client/result.js";
import { encodeTask, hashBytes, type GptResponse, type GptTask, type TaskErrorDocument } from "../../worker/engine/index.js";
import { ApiAccounts, type ApiKeySpec } from "../../worker/bridge/accounts.js";
import { buildBridgeApp, recoverOpenRequests } from "../../worker/bridge/app.js";
import { Preflight } from "../../worker/bridge/preflight.js";
import { BridgeStore } from "../../worker/bridge/store.js";
import type { BridgeSubmission, TriadNetwork } from "../../worker/bridge/network.js";

export const FEE = parseEther("1");
export const NODES = [
  "0x00000000000000000000000000000000000000a1",
  "0x00000000000000000000000000000000000000a2",
  "0x00000000000000000000000000000000000000a3",
];
export const RESULT_HASH = `0x${"ab".repeat(32)}`;
/** The registry entry the fake network's tasks were created for. */
export const MODEL_ENTRY = { index: 0n, id: "stories260K", revision: "main", digest: `0x${"5e".repeat(32)}` };

/** The answer the fake nodes agree on: each choice echoes the last message, so tests can tell choices apart. */
export function fakeResponse(task: GptTask): GptResponse {
  const last = task.messages.at(-1)!.content;
  const n = task.generation_config?.num_return_sequences ?? 1;
  return {
    model: task.model,
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message: { role: "assistant", content: `echo ${index}: ${last}` },
      finish_reason: "length",
    })),
    usage: { prompt_tokens: 5, completion_tokens: 7 * n, total_tokens: 5 + 7 * n },
  } as GptResponse;
}

/**
 * A network whose nodes always agree at once; switches make it time out, abort, agree on an error document, hold
 * every task until `release()`, or fail createTask. One instance can serve several bridges (a restart).
 */
export class FakeNetwork implements TriadNetwork {
  submitted: GptTask[] = [];
  cancelled: bigint[] = [];
  mode: "agree" | "timeout" | "abort" | "task-error" | "hold" = "agree";
  /** What cancelling finds: the task still queued, or already taken by nodes. */
  cancelOutcome: "cancelled" | "started" = "cancelled";
  /** createTask fails before paying (the chain unreachable), this many more times. */
  failSubmissions = 0;
  /** createTask lands on-chain but the receipt never comes back, this many more times. */
  loseReceipts = 0;
  #release: Array<() => void> = [];

  async submit(task: GptTask): Promise<BridgeSubmission> {
    if (this.failSubmissions > 0) {
      this.failSubmissions -= 1;
      throw new Error("connect ECONNREFUSED 127.0.0.1:8545");
    }
    this.submitted.push(task);
    if (this.loseReceipts > 0) {
      this.loseReceipts -= 1;
      throw new Error("timeout waiting for the createTask receipt");
    }
    return { taskId: BigInt(this.submitted.length), fee: FEE, createTx: `0x${"cd".repeat(32)}` };
  }

  async findTasks(argsHash: string): Promise<Array<{ taskId: bigint; createTx: string }>> {
    return this.submitted
      .map((task, i) => ({ hash: hashBytes(encodeTask(task)), taskId: BigInt(i + 1), createTx: `0x${"cd".repeat(32)}` }))
      .filter((entry) => entry.hash === argsHash)
      .map(({ taskId, createTx }) => ({ taskId, createTx }));
  }

  /** Lets every held task reach consensus. */
  release(): void {
    this.mode = "agree";
    for (const release of this.#release.splice(0)) release();
  }

  async result(taskId: bigint, timeoutMs: number): Promise<TaskResult> {
    const task = this.submitted[Number(taskId) - 1]!;
    if (this.mode === "hold") {
      const released = new Promise<boolean>((resolve) => this.#release.push(() => resolve(true)));
      const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs));
      if (!(await Promise.race([released, timedOut]))) throw new TaskTimeoutError(taskId, "no consensus", timeoutMs);
    }
    if (this.mode === "timeout") {
      await new Promise((resolve) => setTimeout(resolve, timeoutMs));
      throw new TaskTimeoutError(taskId, "no consensus", timeoutMs);
    }
    if (this.mode === "abort") return { outcome: "aborted", taskId, nodes: NODES, reason: "NoMajority", reveals: [] };
    const document: GptResponse | TaskErrorDocument =
      this.mode === "task-error"
        ? {
            error: {
              code: "context_length_exceeded",
              message: "prompt (5 tokens) + max_new_tokens (600) exceeds the model's context of 512 tokens",
            },
          }
        : fakeResponse(task);
    const argsHash = hashBytes(encodeTask(task));
    const succeeded = { outcome: "succeeded" as const, taskId, nodes: NODES, argsHash, model: MODEL_ENTRY, resultHash: RESULT_HASH };
    return { ...succeeded, reveals: [], document, bytes: new Uint8Array() };
  }

  async cancel(taskId: bigint): Promise<"cancelled" | "started"> {
    this.cancelled.push(taskId);
    return this.cancelOutcome;
  }
}

export const KEY: ApiKeySpec = {
  key: "sk-triad-test-key-0001",
  name: "tests",
  requestsPerMinute: 1000,
  spendingCapWei: parseEther("1000"),
};

/**
 * A bridge on a loopback port (default: a free one) over a fake network; `storeFile` keeps its state on disk so a
 * second bridge on the same file and network plays a restart.
 */
export async function fakeBridge(
  options: {
    keys?: ApiKeySpec[];
    timeoutMs?: number;
    network?: FakeNetwork;
    storeFile?: string;
    port?: number;
    modelsDir?: string;
    unauthenticatedPerMinute?: number;
    bodyTimeoutMs?: number;
  } = {},
) {
  const network = options.network ?? new FakeNetwork();
  const store = new BridgeStore(options.storeFile ?? ":memory:");
  const accounts = new ApiAccounts(options.keys ?? [KEY], store);
  const appOptions = {
    network,
    accounts,
    models: ["stories260K"],
    fee: FEE,
    timeoutMs: options.timeoutMs ?? 5_000,
    preflight: new Preflight(options.modelsDir),
    unauthenticatedPerMinute: options.unauthenticatedPerMinute,
    bodyTimeoutMs: options.bodyTimeoutMs,
  };
  const app = await buildBridgeApp(appOptions);
  app.addHook("onClose", async () => store.close());
  await app.listen({ host: "127.0.0.1", port: options.port ?? 0 });
  const recovered = recoverOpenRequests(app, appOptions);
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return { app, network, accounts, store, url, baseURL: `${url}/v1`, port: Number(new URL(url).port), recovered };
}

/** Awaits a request that must fail, and returns the openai client's APIError. */
export async function apiFailure(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  }
  throw new Error("the request succeeded");
}
