import { expect } from "chai";
import { rmSync } from "node:fs";
import { keccak256, toUtf8Bytes } from "ethers";
import type { ClientConnection } from "../../worker/client/connection.js";
import { connectDevnet } from "../../worker/devnet/client.js";
import { abortReasonName } from "../../worker/chain/enums.js";
import { startDevnet, type Devnet } from "../../worker/devnet/devnet.js";
import { slashesOf } from "./expectations.js";
import { tempStateDir } from "./helpers.js";

const COMMIT_WINDOW = 10;

/**
 * A paid task whose arguments never reach the relay (created directly, without the upload submitTask makes first):
 * nobody can commit, so it must end at its commit deadline, refunded, nobody slashed. The devnet's clock follows
 * the wall clock and an idle chain still gets blocks, so "10 s" is ten real seconds.
 */
describe("e2e: a task whose arguments never arrive", function () {
  this.timeout(180_000);
  let stateDir: string;
  let devnet: Devnet;
  let conn: ClientConnection;

  before(async function () {
    stateDir = tempStateDir("missing-args");
    devnet = await startDevnet({
      stateDir,
      groups: [{ cardModel: "NVIDIA L4", vramGb: 24, count: 3 }],
      params: { commitWindow: COMMIT_WINDOW },
    });
    conn = await connectDevnet(stateDir);
  });

  after(async function () {
    conn?.close();
    await devnet?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("ends at its commit deadline in real seconds, fee refunded to the creator, nobody slashed", async function () {
    const fee = await conn.taskManager.minFee();
    await (await conn.token.approve(conn.deployment.taskManager, fee)).wait();
    const balanceBefore = await conn.token.balanceOf(conn.address);
    const argsHash = keccak256(toUtf8Bytes("arguments nobody uploaded"));
    const receipt = await (await conn.taskManager.createTask(argsHash, 0, 1, fee, { gasLimit: 3_000_000n })).wait();
    const created = receipt!.logs.map((log) => conn.taskManager.interface.parseLog(log)).find((parsed) => parsed?.name === "TaskCreated");
    const taskId = created!.args.taskId as bigint;

    const started = Date.now();
    let task = await conn.taskManager.getTask(taskId);
    while (task.status !== 5n) {
      expect(Date.now() - started, "the task ends soon after its commit deadline").to.be.below((COMMIT_WINDOW + 20) * 1000);
      await new Promise((resolve) => setTimeout(resolve, 250));
      task = await conn.taskManager.getTask(taskId);
    }
    const seconds = (Date.now() - started) / 1000;
    expect(abortReasonName(task.abortReason)).to.equal("TooFewCommitments");
    expect(seconds, "not before the window (wall clock), and within seconds after it").to.be.within(COMMIT_WINDOW - 2, COMMIT_WINDOW + 15);
    expect(await conn.token.balanceOf(conn.address), "the fee came back").to.equal(balanceBefore);
    expect(await slashesOf(conn, taskId)).to.deep.equal([]);
  });
});
