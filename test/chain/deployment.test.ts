import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ZeroAddress } from "ethers";
import { defaultParams } from "../../deploy/triad.js";
import { loadDeployment, readDeploymentFile, saveDeployment, type TriadDeployment } from "../../worker/chain/deployment.js";
import { parseTaskId } from "../../worker/chain/task-id.js";

const record: TriadDeployment = {
  chainId: 31337,
  token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  nodeRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  taskManager: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  randomness: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
  randomnessKind: "blockhash",
  deployer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  blockNumber: 1,
  params: defaultParams(ZeroAddress),
};

describe("chain: deployment records", function () {
  const dir = mkdtempSync(path.join(os.tmpdir(), "triad-chain-"));

  it("round-trips a record by chain id and by file, and refuses one for another chain", function () {
    const file = saveDeployment(record, dir);
    expect(loadDeployment(31337, dir)).to.deep.equal(record);
    expect(readDeploymentFile(file)).to.deep.equal(record);
    expect(readDeploymentFile(file, 31337n)).to.deep.equal(record);
    expect(() => readDeploymentFile(file, 1)).to.throw(/deployment on chain 31337, but the RPC endpoint serves chain 1/);
    expect(() => loadDeployment(5, dir)).to.throw(/No Triad deployment for chain 5/);
  });

  it("names the file, the field and the rule of a broken record", function () {
    const broken = (name: string, json: unknown) => {
      const file = path.join(dir, name);
      writeFileSync(file, typeof json === "string" ? json : JSON.stringify(json));
      return () => readDeploymentFile(file);
    };
    const saved = { ...record, params: { ...record.params, stakeAmount: "400", minFee: "1" } };
    expect(broken("a.json", "{ nope")).to.throw(/a\.json is not JSON/);
    expect(broken("b.json", [])).to.throw(/b\.json must hold a JSON object/);
    expect(broken("c.json", { ...saved, taskManager: "0x12" })).to.throw(
      /c\.json: taskManager must be a 0x-prefixed address \(got "0x12"\)/,
    );
    expect(broken("d.json", { ...saved, chainId: "31337" })).to.throw(/d\.json: chainId must be a non-negative integer/);
    expect(broken("e.json", { ...saved, params: { ...saved.params, minFee: 1 } })).to.throw(
      /e\.json: params\.minFee must be a decimal string/,
    );
    expect(() => readDeploymentFile(path.join(dir, "missing.json"))).to.throw(/missing\.json could not be read/);
  });
});

describe("chain: task ids", function () {
  it("accepts positive decimal uint256 ids and names the rule otherwise", function () {
    expect(parseTaskId("1")).to.equal(1n);
    expect(parseTaskId(((1n << 256n) - 1n).toString())).to.equal((1n << 256n) - 1n);
    for (const bad of ["0", "007", "-1", "0x10", "1e3", "", " 1", (1n << 256n).toString()]) {
      expect(() => parseTaskId(bad), bad).to.throw(RangeError, /must be a positive integer task id/);
    }
  });
});
