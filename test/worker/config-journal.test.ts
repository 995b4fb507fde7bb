import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "ethers";
import type { DeviceInfo } from "../../worker/engine/index.js";
import { chooseCardIdentity } from "../../worker/node/card-model.js";
import { ConfigError, parseWorkerConfig } from "../../worker/node/config.js";
import { TaskJournal, type TaskRecord } from "../../worker/node/journal.js";
import { commitmentOf } from "../../worker/node/task-handler.js";

const minimal = {
  rpcUrl: "http://127.0.0.1:8545",
  privateKey: `0x${"11".repeat(32)}`,
  relayUrl: "http://127.0.0.1:8547",
  deployment: "deployments/31337.json",
  stateDir: "state",
};

function configError(document: unknown): string {
  try {
    parseWorkerConfig(document, "/base");
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the config was accepted");
}

describe("worker config", function () {
  it("fills defaults and resolves paths against the config file's folder", function () {
    const config = parseWorkerConfig(minimal, "/base");
    expect(config.stateDir).to.equal("/base/state");
    expect(config.deployment).to.equal("/base/deployments/31337.json");
    expect(config).to.include({ device: "cpu", threads: 1, onShutdown: "pause", pollIntervalMs: 1000, safetyMarginSeconds: 2 });
    expect(config.faults).to.deep.equal({});
  });

  it("names every problem with its path in one message", function () {
    const message = configError({ ...minimal, privateKey: "0x12", threads: 0, device: "tpu", extra: 1 });
    expect(message).to.contain("$.privateKey: must match pattern");
    expect(message).to.contain("$.threads: must be >= 1");
    expect(message).to.contain('$.device: must be one of "cpu", "webgpu", "cuda"');
    expect(message).to.contain("$.extra: unknown field");
  });

  it("requires the mandatory fields", function () {
    expect(configError({})).to.contain("$.rpcUrl: is required");
  });

  it("wants cardModel and vramGb together", function () {
    expect(configError({ ...minimal, cardModel: "NVIDIA H100" })).to.contain("$.cardModel and $.vramGb: give both or neither");
  });

  it("rejects unknown fault switches", function () {
    expect(configError({ ...minimal, faults: { wrongResults: true } })).to.contain("$.faults.wrongResults: unknown field");
  });
});

describe("task journal", function () {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "triad-journal-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const record: TaskRecord = {
    taskId: "7",
    argsHash: ethers.id("args"),
    committedHash: ethers.id("result"),
    resultHash: ethers.id("result"),
    salt: ethers.hexlify(ethers.randomBytes(32)),
    outcomeKind: "response",
  };

  it("keeps salt, hashes and result bytes for a new process", async function () {
    await new TaskJournal(dir).create(record, new TextEncoder().encode('{"a":1}'));
    const reopened = new TaskJournal(dir);
    expect(reopened.get(7n)).to.deep.equal(record);
    expect(new TextDecoder().decode(reopened.result(7n))).to.equal('{"a":1}');
    expect(reopened.get(8n)).to.equal(undefined);
  });

  it("lists tasks without an ending as unfinished, in id order", async function () {
    const journal = new TaskJournal(dir);
    for (const id of ["12", "3", "7"]) await journal.create({ ...record, taskId: id }, new Uint8Array([1]));
    await journal.update(7n, { ending: "won" });
    expect(journal.unfinished()).to.deep.equal([3n, 12n]);
  });

  it("writes atomically: no temporary files are left behind", async function () {
    const journal = new TaskJournal(dir);
    await journal.create(record, new Uint8Array([1]));
    await journal.update(7n, { committed: true });
    await journal.saveCursor(42);
    expect(readdirSync(path.join(dir, "tasks"))).to.deep.equal(["7.json"]);
    expect(new TaskJournal(dir).cursor()).to.equal(42);
  });

  it("refuses to update a task it has no record of", async function () {
    let error: unknown;
    try {
      await new TaskJournal(dir).update(1n, { committed: true });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.contain("no record of task 1");
  });
});

describe("commitment", function () {
  it("is keccak256(abi.encode(taskId, node, resultHash, salt)), the contract's formula", function () {
    const node = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const salt = ethers.id("salt");
    const expected = ethers.solidityPackedKeccak256(["uint256", "uint256", "bytes32", "bytes32"], [5n, BigInt(node), ethers.id("r"), salt]);
    expect(commitmentOf(5n, node, ethers.id("r"), salt)).to.equal(expected);
    expect(commitmentOf(6n, node, ethers.id("r"), salt)).to.not.equal(expected);
  });
});

describe("card identity", function () {
  const h100 = { cardModel: "NVIDIA H100 80GB HBM3", vramGb: 80 };
  const configured = { cardModel: "NVIDIA GeForce RTX 4090", vramGb: 24 };
  const gpu = (device: "webgpu" | "cuda"): DeviceInfo => ({ device, cardModel: h100.cardModel, memoryMiB: 81559, source: "nvidia-smi" });
  const cpu: DeviceInfo = { device: "cpu", cardModel: "CPU AMD EPYC", memoryMiB: 24 * 1024 + 17, source: "os.cpus" };

  it("on a GPU device is the GPU nvidia-smi reports, overriding a different configured card with a warning", function () {
    const choice = chooseCardIdentity(configured, gpu("webgpu"));
    expect(choice.identity).to.deep.equal(h100);
    expect(choice.source).to.equal("nvidia-smi");
    expect(choice.warning).to.contain("ignored");
    expect(chooseCardIdentity(undefined, gpu("cuda")).warning).to.equal(undefined);
  });

  it("on a GPU device nvidia-smi cannot name is an error naming the device", function () {
    const unknown: DeviceInfo = { device: "cuda", cardModel: "unknown GPU", memoryMiB: 0, source: "unknown" };
    expect(() => chooseCardIdentity(configured, unknown)).to.throw("device cuda needs an NVIDIA GPU");
  });

  it("on the CPU is the configured card, else the CPU itself with the host memory", function () {
    expect(chooseCardIdentity(configured, cpu)).to.deep.equal({ identity: configured, source: "config" });
    expect(chooseCardIdentity(undefined, cpu)).to.deep.equal({ identity: { cardModel: "CPU AMD EPYC", vramGb: 24 }, source: "cpu" });
  });
});
