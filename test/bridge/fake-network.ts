import { parseEther } from "ethers";
import type { TaskResult } from "../../worker/client/result.js";
import { TaskTimeoutError } from "../../worker/client/result.js";
import type { GptResponse, GptTask, TaskErrorDocument } from "../../worker/engine/index.js";
import { ApiAccounts, type ApiKeySpec } from "../../worker/bridge/accounts.js";
import { buildBridgeApp } from "../../worker/bridge/app.js";
import type { BridgeSubmission, TriadNetwork } from "../../worker/bridge/network.js";

export const FEE = parseEther("1");
export const NODES = ["0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000a2", "0x00000000000000000000000000000000000000a3"];
export const RESULT_HASH = `0x${"ab".repeat(32)}`;

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

/** A network whose nodes always agree at once; switches make it time out, abort or agree on an error document. */
export class FakeNetwork implements TriadNetwork {
  submitted: GptTask[] = [];
  cancelled: bigint[] = [];
  mode: "agree" | "timeout" | "abort" | "task-error" = "agree";
  /** What cancelling finds: the task still queued, or already taken by nodes. */
  cancelOutcome: "cancelled" | "started" = "cancelled";

  async submit(task: GptTask): Promise<BridgeSubmission> {
    this.submitted.push(task);
    return { taskId: BigInt(this.submitted.length), fee: FEE, createTx: `0x${"cd".repeat(32)}` };
  }

  async result(taskId: bigint, timeoutMs: number): Promise<TaskResult> {
    const task = this.submitted[Number(taskId) - 1]!;
    if (this.mode === "timeout") {
      await new Promise((resolve) => setTimeout(resolve, timeoutMs));
      throw new TaskTimeoutError(taskId, "no consensus", timeoutMs);
    }
    if (this.mode === "abort") return { outcome: "aborted", taskId, nodes: NODES, reason: "NoMajority", reveals: [] };
    const document: GptResponse | TaskErrorDocument =
      this.mode === "task-error" ? { error: { code: "context_length_exceeded", message: "prompt (5 tokens) + max_new_tokens (600) exceeds the model's context of 512 tokens" } } : fakeResponse(task);
    return { outcome: "succeeded", taskId, nodes: NODES, resultHash: RESULT_HASH, reveals: [], document, bytes: new Uint8Array() };
  }

  async cancel(taskId: bigint): Promise<"cancelled" | "started"> {
    this.cancelled.push(taskId);
    return this.cancelOutcome;
  }
}

export const KEY: ApiKeySpec = { key: "sk-triad-test-key-0001", name: "tests", requestsPerMinute: 1000, spendingCapWei: parseEther("1000") };

/** A bridge on a free loopback port over a fake network. */
export async function fakeBridge(options: { keys?: ApiKeySpec[]; timeoutMs?: number } = {}) {
  const network = new FakeNetwork();
  const accounts = new ApiAccounts(options.keys ?? [KEY]);
  const app = await buildBridgeApp({ network, accounts, models: ["stories260K"], fee: FEE, timeoutMs: options.timeoutMs ?? 5_000 });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return { app, network, accounts, url, baseURL: `${url}/v1` };
}
