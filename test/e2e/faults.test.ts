import { expect } from "chai";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { ClientConnection } from "../../worker/client/connection.js";
import { NodeStatus, TaskStatus } from "../../worker/chain/enums.js";
import { connectDevnet } from "../../worker/devnet/client.js";
import { waitForResult } from "../../worker/client/result.js";
import { submitTask } from "../../worker/client/submit.js";
import { startDevnet, type Devnet } from "../../worker/devnet/devnet.js";
import type { ManifestWorker } from "../../worker/devnet/manifest.js";
import { waitUntilReady } from "../../worker/devnet/processes.js";
import { repoRoot } from "../../worker/paths.js";
import { expectSameAsLocal, expectSucceeded, localOutcome, paymentsOf, shareOf, slashesOf } from "./expectations.js";
import { tempStateDir } from "./helpers.js";

const example = (name: string): unknown => JSON.parse(readFileSync(path.join(repoRoot, "examples", name), "utf8"));
const TASK_TIMEOUT_MS = 150_000;

/**
 * One devnet (started with the library) with two groups, each reachable on its own through minVramGb:
 * - "NVIDIA H200" / 141 GB: worker 0 reports a wrong result. Once it is slashed the group has two nodes and is
 *   never selected again.
 * - "NVIDIA H100 80GB HBM3" / 80 GB: worker 0 exits right after its commit (it is then restarted).
 */
describe("e2e: faulty workers, crashes and restarts", function () {
  this.timeout(300_000);
  let stateDir: string;
  let devnet: Devnet;
  let conn: ClientConnection;
  let h200: ManifestWorker[];
  let h100: ManifestWorker[];
  const unexpectedExits: string[] = [];

  before(async function () {
    stateDir = tempStateDir("faults");
    devnet = await startDevnet({
      stateDir,
      groups: [
        { cardModel: "NVIDIA H200", vramGb: 141, count: 3, faults: { 0: { wrongResult: true } } },
        { cardModel: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 3, faults: { 0: { exitAfterCommit: true } } },
      ],
      onWorkerExit: (name) => unexpectedExits.push(name),
    });
    conn = await connectDevnet(stateDir);
    h200 = devnet.manifest.workers.filter((w) => w.vramGb === 141);
    h100 = devnet.manifest.workers.filter((w) => w.vramGb === 80);
  });

  after(async function () {
    conn?.close();
    await devnet?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("a worker reporting a wrong result is slashed; the task still succeeds and the two honest nodes are paid", async function () {
    const faulty = h200[0]!;
    const honest = h200.slice(1).map((w) => w.address);
    const task = example("greedy.json");
    const local = await localOutcome(task);
    const stakeBefore = (await conn.registry.getNode(faulty.address)).stake;
    expect(stakeBefore).to.equal(devnet.deployment.params.stakeAmount);
    const treasuryBefore = await conn.token.balanceOf(devnet.deployment.params.treasury);

    const fee = await conn.taskManager.minFee();
    const submitted = await submitTask(conn, task, { minVramGb: 141, fee });
    const result = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(result);
    expectSameAsLocal(result, local);

    const wrong = result.reveals.find((r) => r.node === faulty.address);
    expect(wrong, "the faulty node revealed").to.not.equal(undefined);
    expect(wrong!.resultHash).to.not.equal(local.resultHash);
    expect(await slashesOf(conn, submitted.taskId)).to.deep.equal([{ node: faulty.address, amount: stakeBefore }]);
    const after = await conn.registry.getNode(faulty.address);
    expect(after.status).to.equal(NodeStatus.None);
    expect(after.stake).to.equal(0n);

    const share = shareOf(fee, Number((await conn.taskManager.params()).nodeShareBps), 2);
    const payments = await paymentsOf(conn, submitted.taskId);
    expect([...payments.keys()].sort()).to.deep.equal([...honest].sort());
    for (const address of honest) expect(payments.get(address)).to.equal(share);
    expect(await conn.token.balanceOf(devnet.deployment.params.treasury)).to.equal(treasuryBefore + stakeBefore + (fee - 2n * share));
  });

  it("a worker killed right after committing is restarted, reveals in time and is paid", async function () {
    const crashing = h100[0]!;
    const task = example("repetition-penalty.json");
    const local = await localOutcome(task);
    const stakeBefore = (await conn.registry.getNode(crashing.address)).stake;
    const balanceBefore = await conn.token.balanceOf(crashing.address);

    const submitted = await submitTask(conn, task, { minVramGb: 80 });
    await waitUntilReady(`${crashing.name} exits after its commit`, async () => devnet.workerProcess(crashing.name) === undefined, {
      timeoutMs: TASK_TIMEOUT_MS,
    });
    expect(unexpectedExits).to.include(crashing.name);
    const committed = await conn.taskManager.queryFilter(conn.taskManager.filters.TaskCommitted(submitted.taskId, crashing.address));
    expect(committed, "its commitment is on-chain").to.have.length(1);
    const midway = await conn.taskManager.getTask(submitted.taskId);
    expect(
      midway.status === TaskStatus.Committing || midway.status === TaskStatus.Revealing,
      "the task waits for it (Committing or Revealing)",
    ).to.equal(true);

    await devnet.restartWorker(crashing.name, { faults: {} });
    const result = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(result);
    expectSameAsLocal(result, local);
    expect(result.reveals.find((r) => r.node === crashing.address)?.resultHash).to.equal(local.resultHash);

    const fee = (await conn.taskManager.getTask(submitted.taskId)).fee;
    const share = shareOf(fee, Number((await conn.taskManager.params()).nodeShareBps), 3);
    expect((await paymentsOf(conn, submitted.taskId)).get(crashing.address)).to.equal(share);
    expect(await slashesOf(conn, submitted.taskId)).to.deep.equal([]);
    expect((await conn.registry.getNode(crashing.address)).stake).to.equal(stakeBefore);
    expect(await conn.token.balanceOf(crashing.address)).to.equal(balanceBefore + share);
  });

  it("the relay restarted mid-task loses nothing: the arguments are still served and the result arrives", async function () {
    const task = example("sampling.json");
    const local = await localOutcome(task);
    const submitted = await submitTask(conn, task, { minVramGb: 80 });
    await waitUntilReady(
      "the task starts",
      async () => (await conn.taskManager.getTask(submitted.taskId)).status >= TaskStatus.Committing,
      {
        timeoutMs: TASK_TIMEOUT_MS,
      },
    );
    const relayPidBefore = devnet.manifest.pids.relay;
    await devnet.restartRelay();
    expect(devnet.manifest.pids.relay).to.not.equal(relayPidBefore);

    const result = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(result);
    expectSameAsLocal(result, local);
    const args = await conn.relay.getArgs(submitted.taskId, submitted.argsHash);
    expect(Buffer.from(args).equals(Buffer.from(submitted.bytes))).to.equal(true);
    expect((await paymentsOf(conn, submitted.taskId)).size).to.equal(3);
    expect(await slashesOf(conn, submitted.taskId)).to.deep.equal([]);
  });
});
