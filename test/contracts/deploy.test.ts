import { expect } from "chai";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers as ethersLib } from "ethers";
import { deployTriad } from "../../deploy/triad.js";
import { loadDeployment, saveDeployment } from "../../worker/chain/deployment.js";
import { connectContracts } from "../../worker/chain/contracts.js";
import { ethers } from "./fixture.js";

describe("deployTriad", () => {
  it("deploys wired contracts with the given parameters and round-trips the record through deployments/<chainId>.json", async () => {
    const [deployer, treasury] = await ethers.getSigners();
    const d = await deployTriad(deployer, { treasury: treasury.address, commitWindow: 30, stakeAmount: 7n });
    const { registry, taskManager, token } = connectContracts(d, deployer);
    expect(await registry.taskManager()).to.equal(d.taskManager);
    expect(await registry.hasRole(await registry.DEFAULT_ADMIN_ROLE(), deployer.address)).to.equal(true);
    expect(d.randomnessKind).to.equal("blockhash");
    expect(await token.hasRole(await token.MINTER_ROLE(), deployer.address)).to.equal(true);
    expect(await registry.stakeAmount()).to.equal(7n);
    expect(await registry.treasury()).to.equal(treasury.address);
    expect((await taskManager.params())[1]).to.equal(30n);
    expect(await taskManager.randomnessSource()).to.equal(d.randomness);
    expect(d.chainId).to.equal(31337);

    const dir = mkdtempSync(path.join(os.tmpdir(), "triad-deploy-"));
    const file = saveDeployment(d, dir);
    expect(path.basename(file)).to.equal("31337.json");
    expect(JSON.parse(readFileSync(file, "utf8")).params.stakeAmount).to.equal("7");
    expect(loadDeployment(31337, dir)).to.deep.equal(d);
    expect(() => loadDeployment(5, dir)).to.throw(/No Triad deployment for chain 5/);
  });

  it("names the field and the rule of an invalid parameter", async () => {
    const [deployer] = await ethers.getSigners();
    const failure = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("deployTriad accepted invalid parameters");
    };
    expect(await failure(deployTriad(deployer, { slashBps: 0 }))).to.match(/params\.slashBps must be an integer in 1\.\.10000/);
    expect(await failure(deployTriad(deployer, { treasury: "nope" }))).to.match(/params\.treasury must be an address/);
    expect(await failure(deployTriad(deployer, { stakeAmount: ethersLib.parseEther("0") }))).to.match(/params\.stakeAmount/);
  });
});
