import { expect } from "chai";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { ClientConnection } from "../../worker/client/connection.js";
import { TaskStatus } from "../../worker/chain/enums.js";
import { connectDevnet } from "../../worker/devnet/client.js";
import { waitForResult } from "../../worker/client/result.js";
import { submitTask } from "../../worker/client/submit.js";
import { startDevnet, type Devnet } from "../../worker/devnet/devnet.js";
import { repoRoot } from "../../worker/paths.js";
import { expectSameAsLocal, expectSucceeded, localOutcome, paymentsOf, slashesOf } from "./expectations.js";
import { tempStateDir } from "./helpers.js";

const example = (name: string): unknown => JSON.parse(readFileSync(path.join(repoRoot, "examples", name), "utf8"));
const TASK_TIMEOUT_MS = 150_000;

/** Sum of a counter over all its label sets in a Prometheus text page. */
function counterTotal(metrics: string, name: string): number {
  let total = 0;
  for (const match of metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)$`, "gm"))) total += Number(match[1]);
  return total;
}

/** One group of three workers; the chain itself misbehaves, or an operator stops a worker. */
describe("e2e: the chain stalls or reorganises under the workers; graceful stop", function () {
  this.timeout(300_000);
  let stateDir: string;
  let devnet: Devnet;
  let conn: ClientConnection;

  before(async function () {
    stateDir = tempStateDir("chain-faults");
    devnet = await startDevnet({ stateDir, groups: [{ cardModel: "NVIDIA L4", vramGb: 24, count: 3 }] });
    conn = await connectDevnet(stateDir);
  });

  after(async function () {
    conn?.close();
    await devnet?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("an RPC endpoint that stops answering for 15 s: the workers retry and the task still succeeds, nobody slashed", async function () {
    const task = example("greedy.json");
    const local = await localOutcome(task);
    const submitted = await submitTask(conn, task);
    const chainGroup = devnet.manifest.pids.node;
    process.kill(-chainGroup, "SIGSTOP");
    try {
      await new Promise((resolve) => setTimeout(resolve, 15_000));
    } finally {
      process.kill(-chainGroup, "SIGCONT");
    }
    const result = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(result);
    expectSameAsLocal(result, local);
    expect(await slashesOf(conn, submitted.taskId)).to.deep.equal([]);
    expect((await paymentsOf(conn, submitted.taskId)).size).to.equal(3);
    const failedPasses = await Promise.all(
      devnet.manifest.workers.map(async (w) => counterTotal(await (await fetch(w.metricsUrl)).text(), "triad_worker_chain_errors_total")),
    );
    expect(Math.max(...failedPasses), "the outage was seen as failed, retried passes").to.be.greaterThan(0);
  });

  it("a reorganisation that drops a settled task's blocks: the nodes redo it from their journals and it settles again", async function () {
    const task = example("sampling.json");
    const local = await localOutcome(task);
    const submitted = await submitTask(conn, task);
    const snapshot = (await conn.provider.send("evm_snapshot", [])) as string;
    const first = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(first);

    expect(await conn.provider.send("evm_revert", [snapshot])).to.equal(true);
    const rewound = await conn.taskManager.getTask(submitted.taskId);
    expect(
      rewound.status === TaskStatus.Queued || rewound.status === TaskStatus.Committing,
      `task back before settlement (status ${rewound.status})`,
    ).to.equal(true);

    const again = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(again);
    expectSameAsLocal(again, local);
    expect(await slashesOf(conn, submitted.taskId)).to.deep.equal([]);
    expect((await paymentsOf(conn, submitted.taskId)).size).to.equal(3);
  });

  it("a worker stopped with SIGTERM pauses (leaves selection, keeps its stake) and resumes when started again", async function () {
    const worker = devnet.manifest.workers[0]!;
    const stake = (await conn.registry.getNode(worker.address)).stake;
    await devnet.stopWorker(worker.name);
    const paused = await conn.registry.getNode(worker.address);
    expect(paused.status, "Paused").to.equal(5n);
    expect(paused.stake).to.equal(stake);

    await devnet.restartWorker(worker.name);
    expect((await conn.registry.getNode(worker.address)).status, "Available again").to.equal(1n);
    const task = example("chat.json");
    const local = await localOutcome(task);
    const submitted = await submitTask(conn, task);
    const result = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(result);
    expectSameAsLocal(result, local);
    expect(result.nodes).to.include(worker.address);
  });
});
