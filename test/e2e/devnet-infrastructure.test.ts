import { expect } from "chai";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider, keccak256, parseEther } from "ethers";
import { ContractRefusal } from "../../worker/chain/revert.js";
import type { ClientConnection } from "../../worker/client/connection.js";
import { connectDevnet } from "../../worker/devnet/client.js";
import { submitTask } from "../../worker/client/submit.js";
import { HARDHAT_DEV_ACCOUNT_COUNT, devAccount } from "../../worker/devnet/accounts.js";
import { startDevnet, type Devnet } from "../../worker/devnet/devnet.js";
import { startHardhatNode, setBlockTime } from "../../worker/devnet/hardhat-node.js";
import { manifestPath, readManifest } from "../../worker/devnet/manifest.js";
import { freePort } from "../../worker/devnet/ports.js";
import { SupervisedProcess } from "../../worker/devnet/processes.js";
import { encodeTask } from "../../worker/engine/index.js";
import { answers, isRunning, runTriad, tempStateDir } from "./helpers.js";

const examples = path.resolve("examples");
const readExample = (name: string): unknown => JSON.parse(readFileSync(path.join(examples, name), "utf8"));

describe("devnet infrastructure (no workers)", function () {
  this.timeout(120_000);

  describe("supervised processes", function () {
    it("stopping a process also ends the children in its process group", async function () {
      const stateDir = tempStateDir("proc");
      // A shell that starts a long sleep as its own child and then waits.
      const shell = await SupervisedProcess.start({
        name: "shell",
        command: "/bin/sh",
        args: ["-c", "sleep 300 & echo child $!; wait"],
        logFile: path.join(stateDir, "shell.log"),
      });
      let childPid = 0;
      for (let i = 0; i < 50 && childPid === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        childPid = Number(/child (\d+)/.exec(readFileSync(shell.logFile, "utf8"))?.[1] ?? 0);
      }
      expect(childPid, "the shell logged its child's pid").to.be.greaterThan(0);
      expect(isRunning(childPid)).to.equal(true);

      const exit = await shell.stop(5_000);
      expect(exit.signal).to.equal("SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
      expect(isRunning(childPid), "the grandchild is gone").to.equal(false);
      expect(shell.running).to.equal(false);
      rmSync(stateDir, { recursive: true, force: true });
    });
  });

  describe("hardhat node", function () {
    it("mines on demand with automine at wall-clock time, every second with a 1-second block time; stop frees the port", async function () {
      const port = await freePort();
      const logDir = tempStateDir("node");
      const node = await startHardhatNode({ host: "127.0.0.1", port, logFile: path.join(logDir, "node.log") });
      const provider = new JsonRpcProvider(node.rpcUrl, node.chainId, { staticNetwork: true });
      try {
        expect(node.chainId).to.equal(31337);
        const idleStart = await provider.getBlockNumber();
        await new Promise((r) => setTimeout(r, 2_200));
        expect(await provider.getBlockNumber(), "automine mines nothing while idle").to.equal(idleStart);

        // Many blocks in a few wall seconds: blocks share timestamps instead of adding 1 s each.
        for (let i = 0; i < 40; i++) await provider.send("evm_mine", []);
        const ahead = (await provider.getBlock("latest"))!.timestamp - Math.floor(Date.now() / 1000);
        expect(ahead, "chain time follows the wall clock (40 blocks did not move it 40 s ahead)").to.be.at.most(1);

        await setBlockTime(provider, 1);
        const timedStart = await provider.getBlockNumber();
        await new Promise((r) => setTimeout(r, 3_300));
        const mined = (await provider.getBlockNumber()) - timedStart;
        expect(mined, "about one block per second").to.be.within(2, 4);
      } finally {
        provider.destroy();
        await node.stop();
      }
      expect(isRunning(node.process.pid)).to.equal(false);
      expect(await answers(node.rpcUrl)).to.equal(false);
      rmSync(logDir, { recursive: true, force: true });
    });
  });

  describe("startDevnet, task submission and stop", function () {
    let devnet: Devnet;
    let conn: ClientConnection;
    let stateDir: string;

    before(async function () {
      stateDir = tempStateDir("infra");
      devnet = await startDevnet({ stateDir, groups: [] });
      conn = await connectDevnet(stateDir);
    });

    after(async function () {
      conn?.close();
      await devnet?.stop();
      rmSync(stateDir, { recursive: true, force: true });
    });

    it("writes a manifest with the endpoints, the deployment and the dev accounts", async function () {
      const manifest = readManifest(stateDir);
      expect(manifest).to.deep.equal(devnet.manifest);
      expect(manifest.rpcUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(manifest.relayUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(manifest.accounts).to.have.length(HARDHAT_DEV_ACCOUNT_COUNT);
      expect(manifest.accounts[0]).to.deep.include({ role: "deployer (token minter)", ...devAccount(0) });
      expect(manifest.clientAccount.address).to.equal(devAccount(1).address);
      expect(manifest.devOnly).to.match(/never use them on a real network/);

      const deployment = JSON.parse(readFileSync(manifest.deploymentFile, "utf8"));
      expect(deployment.taskManager).to.equal(manifest.contracts.taskManager);
      expect(await conn.provider.getCode(manifest.contracts.taskManager)).to.not.equal("0x");
      const health = await conn.relay.health();
      expect(health.ok).to.equal(true);
      expect(health.chainId).to.equal(String(manifest.chainId));
    });

    it("funds the client with tokens; submitTask escrows the fee and uploads the canonical bytes", async function () {
      expect(await conn.token.balanceOf(conn.address)).to.equal(parseEther("10000"));
      const task = readExample("greedy.json");
      const fee = parseEther("2");
      const before = await conn.token.balanceOf(conn.address);
      const submitted = await submitTask(conn, task, { fee, minVramGb: 24 });

      const onChain = await conn.taskManager.getTask(submitted.taskId);
      expect(onChain.argsHash).to.equal(keccak256(encodeTask(task)));
      expect(onChain.fee).to.equal(fee);
      expect(onChain.minVramGb).to.equal(24n);
      expect(onChain.creator).to.equal(conn.address);
      expect(await conn.token.balanceOf(conn.address)).to.equal(before - fee);
      const stored = await conn.relay.getArgs(submitted.taskId, submitted.argsHash);
      expect(new TextDecoder().decode(stored)).to.equal(new TextDecoder().decode(encodeTask(task)));
    });

    it("keeps mining under automine while a task waits in the queue (so its randomness becomes ready)", async function () {
      expect(await conn.taskManager.queueLength()).to.be.greaterThan(0n);
      const start = await conn.provider.getBlockNumber();
      await new Promise((r) => setTimeout(r, 2_500));
      expect(await conn.provider.getBlockNumber()).to.be.greaterThan(start);
      const ahead = (await conn.provider.getBlock("latest"))!.timestamp - Math.floor(Date.now() / 1000);
      expect(ahead, "a block every 250 ms does not run chain time ahead of the wall clock").to.be.within(-2, 1);
    });

    it("`triad task submit` rejects an invalid task with exit code 2 naming the fields, and --no-validate submits it", async function () {
      const invalid = await runTriad(["task", "submit", path.join(examples, "invalid.json"), "--devnet", stateDir]);
      expect(invalid.code).to.equal(2);
      expect(invalid.stderr).to.contain("$.messages[0].role");
      expect(invalid.stderr).to.contain("$.seed");
      const countBefore = await conn.taskManager.taskCount();

      const forced = await runTriad(["task", "submit", path.join(examples, "invalid.json"), "--no-validate", "--devnet", stateDir]);
      expect(forced.code, forced.stderr).to.equal(0);
      const taskId = BigInt(/Task (\d+) created/.exec(forced.stdout)![1]!);
      expect(taskId).to.equal(countBefore + 1n);
      const onChain = await conn.taskManager.getTask(taskId);
      expect(onChain.argsHash).to.equal(keccak256(encodeTask(readExample("invalid.json"))));
    });

    it("a demand above every card group is refused with the decoded custom error in one line (submitTask, and exit 6)", async function () {
      const countBefore = await conn.taskManager.taskCount();
      const expected = "createTask refused by the contract: NoGroupForModel(model 0, minVramGb 1000, servedVramGb 80)";
      const refusal = await submitTask(conn, readExample("greedy.json"), { minVramGb: 1000 }).catch((error: unknown) => error);
      expect(refusal).to.be.instanceOf(ContractRefusal);
      expect((refusal as ContractRefusal).message).to.equal(expected);

      const cli = await runTriad(["task", "submit", path.join(examples, "greedy.json"), "--min-vram", "1000", "--devnet", stateDir]);
      expect(cli.code, cli.stderr).to.equal(6);
      expect(cli.stderr).to.equal(`error: ${expected}\n`);
      expect(await conn.taskManager.taskCount(), "no task was created").to.equal(countBefore);
    });

    it("`triad task result` without --wait reports a task that is not finished (exit 3)", async function () {
      const run = await runTriad(["task", "result", "1", "--devnet", stateDir]);
      expect(run.code, run.stderr).to.equal(3);
      expect(run.stdout).to.match(/Task 1 is (Queued|Committing)/);
    });

    it("refuses a second devnet on the same state dir while the first runs", async function () {
      let error: Error | undefined;
      try {
        await startDevnet({ stateDir, groups: [] });
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.match(/already running/);
    });

    it("stop ends the relay and the chain and removes the manifest", async function () {
      const { rpcUrl, relayUrl } = devnet.manifest;
      conn.close();
      await devnet.stop();
      expect(await answers(rpcUrl)).to.equal(false);
      expect(await answers(relayUrl)).to.equal(false);
      expect(existsSync(manifestPath(stateDir))).to.equal(false);
    });
  });
});
