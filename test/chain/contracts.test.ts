import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { connectContracts, createdTaskId } from "../../worker/chain/contracts.js";
import { TaskStatus } from "../../worker/chain/enums.js";
import { FEE, MODEL, world } from "../contracts/fixture.js";

describe("chain: contract wiring and events", function () {
  it("connects the deployment's three contracts and reads a created task's id from its TaskCreated event", async function () {
    const w = await world();
    const { token, registry, taskManager } = connectContracts(w.deployment, w.creator);
    expect(await token.getAddress()).to.equal(w.deployment.token);
    expect(await registry.getAddress()).to.equal(w.deployment.nodeRegistry);
    expect(await taskManager.getAddress()).to.equal(w.deployment.taskManager);

    const first = (await (await taskManager.createTask(ethersLib.id("a"), MODEL, 16, FEE)).wait())!;
    const second = (await (await taskManager.createTask(ethersLib.id("b"), MODEL, 16, FEE)).wait())!;
    expect(await createdTaskId(taskManager, first)).to.equal(1n);
    expect(await createdTaskId(taskManager, second)).to.equal(2n);
    expect((await taskManager.getTask(2n)).status).to.equal(TaskStatus.Queued);

    const approval = (await (await token.approve(w.deployment.taskManager, 1n)).wait())!;
    let message = "";
    await createdTaskId(taskManager, approval).catch((error: Error) => (message = error.message));
    expect(message).to.equal(`createTask transaction ${approval.hash} emitted no TaskCreated event`);
  });
});
