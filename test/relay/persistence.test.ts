import { spawn, type ChildProcess } from "node:child_process";
import { watch } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
import { ZeroAddress, keccak256 } from "ethers";
import { defaultParams } from "../../deploy/triad.js";
import { saveDeployment } from "../../worker/chain/deployment.js";
import { TaskStatus } from "../../worker/chain/enums.js";
import { RelayClient } from "../../worker/relay/client.js";
import { RelayError } from "../../worker/relay/errors.js";
import { MAX_RESULT_BYTES, signRelayRequest, taskObjectPath } from "../../worker/relay/protocol.js";
import { repoRoot } from "../../worker/paths.js";
import { document, relayWorld, tempDataDir, type RelayWorld } from "./fixtures.js";

/** Starts `triad relay` as its own process and resolves once it logs its URL. */
async function relayProcess(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(repoRoot, "bin", "triad.js"), "relay", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`relay process exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === "relay listening" && entry.url) resolve(entry.url);
    });
  });
  return { url, child };
}

async function stopProcess(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

describe("relay persistence", function () {
  let world: RelayWorld;

  before(async function () {
    world = await relayWorld();
  });

  after(async function () {
    await world.close();
  });

  it("serves everything stored before a restart in a new process, and still rejects replayed nonces", async function () {
    const dataDir = await tempDataDir();
    const args = document("persisted task");
    const result = document("persisted result");
    const taskId = await world.createTask(args, { status: TaskStatus.Succeeded, result });
    const argsPath = taskObjectPath(taskId, "args");

    const first = await world.relay(dataDir);
    await new RelayClient(first.url, world.creator).putArgs(taskId, args);
    await new RelayClient(first.url, world.nodes[1]).putResult(taskId, result);
    const usedHeaders = await signRelayRequest(world.nodes[0], { domain: world.domain, method: "GET", path: argsPath });
    expect((await fetch(`${first.url}${argsPath}`, { headers: usedHeaders })).status).to.equal(200);
    await first.close();

    const deploymentFile = saveDeployment(
      {
        chainId: 31337,
        token: ZeroAddress,
        nodeRegistry: ZeroAddress,
        taskManager: world.taskManagerAddress,
        randomness: ZeroAddress,
        randomnessKind: "blockhash",
        deployer: ZeroAddress,
        blockNumber: 0,
        params: defaultParams(ZeroAddress),
      },
      dataDir,
    );
    const second = await relayProcess(["--data-dir", dataDir, "--rpc", world.rpcUrl, "--deployment", deploymentFile, "--port", "0"]);
    try {
      const reader = new RelayClient(second.url, world.nodes[2]);
      expect(await reader.getArgs(taskId, keccak256(args))).to.deep.equal(args);
      expect(await reader.getResult(taskId, keccak256(result))).to.deep.equal(result);
      expect(await reader.health()).to.deep.include({ ok: true, storedObjects: 2 });

      const replay = await fetch(`${second.url}${argsPath}`, { headers: usedHeaders });
      expect(replay.status).to.equal(401);
      expect(((await replay.json()) as { error: { code: string } }).error.code).to.equal("replayed_nonce");
    } finally {
      expect(await stopProcess(second.child)).to.equal(0);
    }
  });

  it("keeps the task index as it was written: content first, then tasks/<id>.json", async function () {
    const dataDir = await tempDataDir();
    const args = document("index layout task");
    const taskId = await world.createTask(args);
    const relay = await world.relay(dataDir);
    try {
      await new RelayClient(relay.url, world.creator).putArgs(taskId, args);
    } finally {
      await relay.close();
    }
    const hash = keccak256(args);
    expect(await readFile(path.join(dataDir, "objects", hash.slice(2)))).to.deep.equal(Buffer.from(args));
    const entry = JSON.parse(await readFile(path.join(dataDir, "tasks", `${taskId}.json`), "utf8"));
    expect(entry).to.deep.equal({ argsHash: hash });
  });

  it("never exposes a partially written object under its final name", async function () {
    const dataDir = await tempDataDir();
    const args = document("large result task");
    const result = new Uint8Array(MAX_RESULT_BYTES).map((_, i) => (i * 31) % 251);
    const hash = keccak256(result);
    const taskId = await world.createTask(args, { status: TaskStatus.Succeeded, result });
    const relay = await world.relay(dataDir);
    const objectsDir = path.join(dataDir, "objects");
    const finalName = hash.slice(2);
    const sightings: number[] = [];
    const watcher = watch(objectsDir, async (_event, name) => {
      if (name !== finalName) return;
      const seen = await readFile(path.join(objectsDir, finalName)).catch(() => null);
      if (seen !== null) sightings.push(seen.length);
    });
    try {
      await new RelayClient(relay.url, world.nodes[0]).putResult(taskId, result);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      watcher.close();
      await relay.close();
    }
    expect(sightings, "the object appeared under its final name").to.not.be.empty;
    expect(sightings.every((length) => length === MAX_RESULT_BYTES)).to.equal(true);
  });

  it("ignores leftovers of an interrupted write: a temp file, or an object whose index entry was never written", async function () {
    const dataDir = await tempDataDir();
    const args = document("interrupted task");
    const taskId = await world.createTask(args);
    const hash = keccak256(args);
    // What a crash leaves behind: half a temp file, and a complete object the task index does not point at.
    const first = await world.relay(dataDir);
    await first.close();
    await writeFile(path.join(dataDir, "objects", `${hash.slice(2)}.1234567`), args.slice(0, 5));
    await writeFile(path.join(dataDir, "objects", hash.slice(2)), args);

    const relay = await world.relay(dataDir);
    try {
      const creator = new RelayClient(relay.url, world.creator);
      expect((await creator.health()).storedObjects).to.equal(1);
      const missing = await creator.getArgs(taskId, hash).catch((error: unknown) => error);
      expect(missing).to.be.instanceOf(RelayError).and.include({ status: 404, code: "args_not_uploaded" });
      expect((await creator.putArgs(taskId, args)).created, "the index entry is new").to.equal(true);
      expect(await creator.getArgs(taskId, hash)).to.deep.equal(args);
    } finally {
      await relay.close();
    }
    expect(await readdir(path.join(dataDir, "tasks"))).to.deep.equal([`${taskId}.json`]);
  });
});
