import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { ContractRefusal, asRefusal, describeRevert, refusalsDecoded } from "../../worker/chain/revert.js";
import { FEE, world } from "../contracts/fixture.js";

describe("chain: decoded contract refusals", function () {
  it("names a Triad custom error and each of its arguments; other failures are not refusals", async function () {
    const w = await world();
    let caught: unknown;
    await w.taskManager
      .connect(w.creator)
      .createTask.estimateGas(ethersLib.id("a"), 0, 81, FEE)
      .catch((error) => (caught = error));
    expect(describeRevert(caught)).to.equal("NoGroupForModel(model 0, minVramGb 81, servedVramGb 80)");

    const create = () => w.taskManager.connect(w.creator).createTask(ethersLib.id("a"), 0, 0, FEE);
    const refusal = await refusalsDecoded("createTask", create).catch((error: unknown) => error);
    expect(refusal).to.be.instanceOf(ContractRefusal);
    expect((refusal as ContractRefusal).message).to.equal("createTask refused by the contract: InvalidVram()");

    // Nested the way Hardhat wraps an RPC error: the data sits in a cause.
    const data = w.registry.interface.encodeErrorResult("UnknownGroup", [7n]);
    expect(describeRevert({ message: "outer", cause: { message: "inner", data } })).to.equal("UnknownGroup(groupId 7)");
    expect(asRefusal("join", new Error("ECONNREFUSED 127.0.0.1:8545"))).to.equal(undefined);
  });
});
