import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { Wallet, keccak256 } from "ethers";
import { TaskStatus } from "../../worker/chain/enums.js";
import { RelayClient } from "../../worker/relay/client.js";
import { ContentHashMismatch, RelayError } from "../../worker/relay/errors.js";
import { deadUrl, document, relayWorld, tempDataDir, type RelayWorld } from "./fixtures.js";

/** An HTTP server answering each request with the next scripted reply; counts requests. */
async function scriptedServer(replies: Array<(res: ServerResponse) => void>) {
  let requests = 0;
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    const reply = replies[Math.min(requests, replies.length - 1)];
    requests += 1;
    reply(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const status = (code: number, body: unknown) => (res: ServerResponse) =>
  res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
const bytes = (payload: Uint8Array) => (res: ServerResponse) =>
  res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.from(payload));

async function caught(promise: Promise<unknown>): Promise<RelayError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(RelayError);
  return error as RelayError;
}

describe("relay client", function () {
  const anyone = Wallet.createRandom();
  /** The scripted servers serve no /healthz: the domain requests are signed for is given. */
  const domain = { chainId: 31337n, taskManager: `0x${"7a".repeat(20)}` };

  it("rejects tampered bytes from a real relay whose stored object was altered", async function () {
    const world: RelayWorld = await relayWorld();
    const dataDir = await tempDataDir();
    const relay = await world.relay(dataDir);
    try {
      const args = document("tamper task");
      const result = document("the honest result");
      const taskId = await world.createTask(args, { status: TaskStatus.Succeeded, result });
      await new RelayClient(relay.url, world.nodes[0]).putResult(taskId, result);
      await writeFile(path.join(dataDir, "objects", keccak256(result).slice(2)), document("the forged result"));

      const error = await new RelayClient(relay.url, anyone).getResult(taskId, keccak256(result)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ContentHashMismatch).and.not.be.instanceOf(RelayError);
      expect((error as ContentHashMismatch).code).to.equal("content_hash_mismatch");
      expect((error as ContentHashMismatch).message).to.contain(keccak256(result));
    } finally {
      await relay.close();
      await world.close();
    }
  });

  it("retries 5xx answers with backoff and then verifies what it got", async function () {
    const payload = document("eventually served");
    const server = await scriptedServer([
      status(503, { error: { code: "chain_unavailable", message: "down" } }),
      status(502, {}),
      bytes(payload),
    ]);
    try {
      const client = new RelayClient(server.url, anyone, { retries: 3, minRetryDelayMs: 10, domain });
      expect(await client.getResult(5n, keccak256(payload))).to.deep.equal(payload);
      expect(server.requests()).to.equal(3);
    } finally {
      await server.close();
    }
  });

  it("does not retry 4xx answers and reports their status and code", async function () {
    const server = await scriptedServer([status(403, { error: { code: "not_task_node", message: "no" } })]);
    try {
      const client = new RelayClient(server.url, anyone, { retries: 3, minRetryDelayMs: 10, domain });
      const error = await caught(client.putResult(5n, document("x")));
      expect(error).to.include({ status: 403, code: "not_task_node", message: "no" });
      expect(server.requests()).to.equal(1);
    } finally {
      await server.close();
    }
  });

  it("signs every attempt with a fresh nonce, so a retried upload is not a replay", async function () {
    const nonces: string[] = [];
    const server = createServer((req, res) => {
      nonces.push(String(req.headers["x-triad-nonce"]));
      if (nonces.length < 3) return status(500, {})(res);
      status(201, { taskId: "5", kind: "args", hash: "0x", bytes: 1 })(res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const receipt = await new RelayClient(url, anyone, { retries: 3, minRetryDelayMs: 10, domain }).putArgs(5n, document("x"));
      expect(receipt.created).to.equal(true);
      expect(new Set(nonces).size).to.equal(3);
      expect(nonces.every((nonce) => /^[0-9a-f]{32}$/.test(nonce))).to.equal(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("turns an unreachable relay into a RelayError with status 0 after its retries", async function () {
    const client = new RelayClient(await deadUrl(), anyone, { retries: 1, minRetryDelayMs: 10 });
    const error = await caught(client.health());
    expect(error).to.include({ status: 0, code: "network_error" });
  });
});
