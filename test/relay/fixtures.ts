import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import { pino } from "pino";
import { TaskStatus } from "../../worker/chain/enums.js";
import { startRelay, type RunningRelay } from "../../worker/relay/server.js";

/** Shared set-up of the relay tests: an in-process chain with the MockTaskManager, exposed over HTTP JSON-RPC. */
export async function relayWorld() {
  const connection = await network.create();
  const { ethers } = connection;
  const [creator, nodeA, nodeB, nodeC, outsider] = await ethers.getSigners();
  const taskManager = await ethers.deployContract("MockTaskManager");
  const taskManagerAddress = await taskManager.getAddress();
  const rpc = await serveJsonRpc((method, params) => connection.provider.request({ method, params }));
  const nodes = [nodeA, nodeB, nodeC];

  let nextTaskId = 1n;
  /** Records a task on the mock chain with `args` as its document; returns its id. */
  async function createTask(args: Uint8Array, overrides: { status?: bigint; result?: Uint8Array } = {}) {
    const taskId = nextTaskId++;
    await setTask(taskId, args, overrides);
    return taskId;
  }
  async function setTask(taskId: bigint, args: Uint8Array, overrides: { status?: bigint; result?: Uint8Array }) {
    await (
      await taskManager.setTask(taskId, {
        status: overrides.status ?? TaskStatus.Committing,
        abortReason: 0,
        creator: creator.address,
        minVramGb: 0,
        model: 0,
        createdAt: 0,
        deadline: 0,
        argsHash: keccak256(args),
        resultHash: overrides.result === undefined ? ZeroHash : keccak256(overrides.result),
        groupId: ZeroHash,
        fee: 0,
        nodes: [nodeA.address, nodeB.address, nodeC.address],
      })
    ).wait();
  }

  async function relay(dataDir: string, extra: { now?: () => number } = {}): Promise<RunningRelay> {
    return startRelay({
      port: 0,
      dataDir,
      rpcUrl: rpc.url,
      taskManager: taskManagerAddress,
      logger: silentLogger(),
      ...extra,
    });
  }

  return {
    ethers,
    creator,
    nodes,
    outsider,
    taskManagerAddress,
    /** What the relay's requests are signed for: this chain and its task manager. */
    domain: { chainId: 31337n, taskManager: taskManagerAddress },
    rpcUrl: rpc.url,
    createTask,
    setTask,
    relay,
    async close() {
      await rpc.close();
      await connection.close();
      for (const dir of createdDataDirs.splice(0)) await rm(dir, { recursive: true, force: true });
    },
  };
}

export type RelayWorld = Awaited<ReturnType<typeof relayWorld>>;

export function silentLogger() {
  return pino({ level: "silent" });
}

const createdDataDirs: string[] = [];

/** A fresh data directory, removed by the `close()` of the next relayWorld to close. */
export async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "triad-relay-test-"));
  createdDataDirs.push(dir);
  return dir;
}

export function document(text: string): Uint8Array {
  return toUtf8Bytes(text);
}

/** A JSON-RPC-over-HTTP endpoint answering from `request` (here: the in-process Hardhat network). */
export async function serveJsonRpc(
  request: (method: string, params: unknown[]) => Promise<unknown>,
): Promise<{ url: string; close(): Promise<void> }> {
  const answer = async (call: { id: unknown; method: string; params?: unknown[] }) => {
    try {
      return { jsonrpc: "2.0", id: call.id, result: await request(call.method, call.params ?? []) };
    } catch (error) {
      const { code, message, data } = error as { code?: number; message: string; data?: unknown };
      return { jsonrpc: "2.0", id: call.id, error: { code: code ?? -32603, message, data } };
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const payload = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const response = Array.isArray(payload) ? await Promise.all(payload.map(answer)) : await answer(payload);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(response, (_key, value) => (typeof value === "bigint" ? `0x${value.toString(16)}` : value)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A URL where nothing listens. */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
