import { expect } from "chai";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { ClientConnection } from "../../worker/client/connection.js";
import { TaskStatus } from "../../worker/chain/enums.js";
import { connectDevnet } from "../../worker/devnet/client.js";
import { waitForResult } from "../../worker/client/result.js";
import { submitTask, type SubmittedTask } from "../../worker/client/submit.js";
import { manifestPath, readManifest, type DevnetManifest } from "../../worker/devnet/manifest.js";
import { SupervisedProcess, waitUntilReady } from "../../worker/devnet/processes.js";
import { repoRoot } from "../../worker/paths.js";
import { expectOneGroup, expectSameAsLocal, expectSucceeded, localOutcome, paymentsOf, shareOf } from "./expectations.js";
import { answers, isRunning, runTriad, tempStateDir } from "./helpers.js";

const example = (name: string): unknown => JSON.parse(readFileSync(path.join(repoRoot, "examples", name), "utf8"));
const TASK_TIMEOUT_MS = 150_000;

/**
 * One devnet for the whole file, started as a user starts it (`triad devnet`, which runs the devnet library),
 * with two card models of three workers each; it is stopped with SIGINT at the end.
 */
describe("e2e: consensus on a devnet started with `triad devnet`", function () {
  this.timeout(300_000);
  let stateDir: string;
  let cli: SupervisedProcess;
  let manifest: DevnetManifest;
  let conn: ClientConnection;

  before(async function () {
    stateDir = tempStateDir("consensus");
    cli = await SupervisedProcess.start({
      name: "triad devnet",
      command: process.execPath,
      args: [path.join(repoRoot, "bin", "triad.js"), "devnet", "--state-dir", stateDir, "--rpc-port", "0", "--relay-port", "0"],
      cwd: repoRoot,
      logFile: path.join(`${stateDir}-cli.log`),
    });
    await waitUntilReady("triad devnet", async () => readFileSync(cli.logFile, "utf8").includes("Triad devnet is running"), {
      timeoutMs: 280_000,
      intervalMs: 500,
      process: cli,
    });
    manifest = readManifest(stateDir);
    conn = await connectDevnet(stateDir);
  });

  after(async function () {
    conn?.close();
    if (cli?.running) await cli.stop(60_000);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("prints every endpoint and the dev-only accounts", function () {
    const output = readFileSync(cli.logFile, "utf8");
    expect(output).to.contain(manifest.rpcUrl);
    expect(output).to.contain(manifest.relayUrl);
    for (const worker of manifest.workers) expect(output).to.contain(worker.metricsUrl);
    expect(output).to.contain(manifest.clientAccount.privateKey);
    expect(output).to.match(/DEV ONLY/);
    expect(manifest.workers.map((w) => w.cardModel).sort()).to.deep.equal([
      "NVIDIA GeForce RTX 4090",
      "NVIDIA GeForce RTX 4090",
      "NVIDIA GeForce RTX 4090",
      "NVIDIA H100 80GB HBM3",
      "NVIDIA H100 80GB HBM3",
      "NVIDIA H100 80GB HBM3",
    ]);
  });

  it("three honest workers agree, are paid, and the verified response equals the local engine's", async function () {
    const task = example("greedy.json");
    const local = await localOutcome(task);
    const fee = (await conn.taskManager.minFee()) * 3n;
    const nodesBefore = await Promise.all(manifest.workers.map(async (w) => [w.address, await conn.token.balanceOf(w.address)] as const));
    const submitted = await submitTask(conn, task, { fee, minVramGb: 80 });

    const result = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(result);
    expectSameAsLocal(result, local);
    expect(result.document).to.have.property("choices").with.length(1);

    const onChain = await conn.taskManager.getTask(submitted.taskId);
    expect(onChain.status).to.equal(TaskStatus.Succeeded);
    expect(onChain.resultHash).to.equal(local.resultHash);
    const h100 = manifest.workers.filter((w) => w.vramGb === 80).map((w) => w.address);
    expect([...onChain.nodes].sort()).to.deep.equal([...h100].sort());
    expect(result.reveals.map((r) => r.resultHash)).to.deep.equal([local.resultHash, local.resultHash, local.resultHash]);

    const share = shareOf(fee, Number((await conn.taskManager.params()).nodeShareBps), 3);
    const payments = await paymentsOf(conn, submitted.taskId);
    expect(payments.size).to.equal(3);
    for (const [address, before] of nodesBefore) {
      const expectedGain = h100.includes(address) ? share : 0n;
      if (h100.includes(address)) expect(payments.get(address)).to.equal(share);
      expect(await conn.token.balanceOf(address), `balance of ${address}`).to.equal(before + expectedGain);
    }
  });

  it("invalid arguments submitted without validation: the nodes agree on the error outcome", async function () {
    const task = example("invalid.json");
    const local = await localOutcome(task);
    expect(local.kind).to.equal("error");
    const submitted = await submitTask(conn, task, { validate: false });
    const result = await waitForResult(conn, submitted.taskId, { timeoutMs: TASK_TIMEOUT_MS });
    expectSucceeded(result);
    expectSameAsLocal(result, local);
    expect(result.document).to.have.nested.property("error.code", "invalid_task");
    expect((result.document as { error: { message: string } }).error.message).to.contain("$.messages[0].role");
    expect((await paymentsOf(conn, submitted.taskId)).size).to.equal(3);
  });

  it("more tasks than free nodes all complete through the queue, and no task mixes card models", async function () {
    const names = [
      "sampling.json",
      "chat.json",
      "beam-search.json",
      "repetition-penalty.json",
      "multiple-sequences.json",
      "top-k-top-p-typical.json",
    ];
    const locals = await Promise.all(names.map((name) => localOutcome(example(name))));
    const submitted: SubmittedTask[] = [];
    for (const name of names) submitted.push(await submitTask(conn, example(name)));
    const results = await Promise.all(submitted.map((s) => waitForResult(conn, s.taskId, { timeoutMs: TASK_TIMEOUT_MS })));

    const groups = new Set<bigint>();
    for (const [i, result] of results.entries()) {
      expectSucceeded(result);
      expectSameAsLocal(result, locals[i]!);
      groups.add(await expectOneGroup(conn, result.taskId));
    }
    expect(groups.size, "both card models ran tasks").to.equal(2);

    // Six tasks for two groups: some had to wait in the queue until a group was free again.
    const queued = await conn.taskManager.queryFilter(conn.taskManager.filters.TaskQueued(), conn.deployment.blockNumber);
    const ours = queued.filter((e) => submitted.some((s) => s.taskId === e.args.taskId));
    expect(Math.max(...ours.map((e) => Number(e.args.queueLength)))).to.be.greaterThan(2);
    const started = await conn.taskManager.queryFilter(conn.taskManager.filters.TaskStarted(), conn.deployment.blockNumber);
    const succeeded = await conn.taskManager.queryFilter(conn.taskManager.filters.TaskSucceeded(), conn.deployment.blockNumber);
    const firstSuccess = Math.min(...succeeded.filter((e) => submitted.some((s) => s.taskId === e.args.taskId)).map((e) => e.blockNumber));
    const lastStart = Math.max(...started.filter((e) => submitted.some((s) => s.taskId === e.args.taskId)).map((e) => e.blockNumber));
    expect(lastStart, "a task started only after another one freed its nodes").to.be.greaterThan(firstSuccess);
    expect(await conn.taskManager.queueLength()).to.equal(0n);
  });

  it("`triad task result` prints the verified response with its task id, nodes, hashes and registered weights", async function () {
    const submitted = await submitTask(conn, example("greedy.json"));
    const run = await runTriad(["task", "result", String(submitted.taskId), "--wait", "--timeout", "150", "--devnet", stateDir]);
    expect(run.code, run.stderr).to.equal(0);
    const onChain = await conn.taskManager.getTask(submitted.taskId);
    expect(run.stdout).to.contain(`Task ${submitted.taskId}: Succeeded`);
    expect(run.stdout).to.contain(`result hash: ${onChain.resultHash} (verified`);
    expect(run.stdout).to.contain(`args hash:   ${submitted.argsHash}`);
    const entry = await conn.registry.getModel(onChain.model);
    expect(run.stdout).to.contain(`${entry.id} at revision ${entry.revision}, files digest ${entry.digest}`);
    for (const node of onChain.nodes) expect(run.stdout).to.contain(node);
    expect(run.stdout).to.match(/assistant \[choice 0, finish_reason (length|stop)\]/);
  });

  it("SIGINT stops workers, relay and chain: no process is left and the manifest is gone", async function () {
    const pids = [manifest.pids.node, manifest.pids.relay, ...manifest.workers.map((w) => w.pid)];
    expect(pids.every((pid) => pid > 0 && isRunning(pid))).to.equal(true);
    conn.close();
    cli.signal("SIGINT");
    const exit = await cli.exited;
    expect(exit.code, readFileSync(cli.logFile, "utf8").slice(-2000)).to.equal(0);
    for (const pid of pids) expect(isRunning(pid), `pid ${pid}`).to.equal(false);
    expect(await answers(manifest.rpcUrl)).to.equal(false);
    expect(await answers(manifest.relayUrl)).to.equal(false);
    expect(existsSync(manifestPath(stateDir))).to.equal(false);
    const log = readFileSync(cli.logFile, "utf8");
    expect(log).to.contain("devnet stopped");
  });
});
