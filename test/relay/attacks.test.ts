import http from "node:http";
import net from "node:net";
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { Wallet, keccak256 } from "ethers";
import { TaskStatus } from "../../worker/chain/enums.js";
import { RelayClient } from "../../worker/relay/client.js";
import {
  AUTH_HEADERS,
  MAX_ARGS_BYTES,
  MAX_RESULT_BYTES,
  pendingArgsPath,
  signRelayRequest,
  taskObjectPath,
} from "../../worker/relay/protocol.js";
import { NonceStore } from "../../worker/relay/nonce-store.js";
import { startRelay, type RunningRelay } from "../../worker/relay/server.js";
import { document, relayWorld, silentLogger, tempDataDir, type RelayWorld } from "./fixtures.js";

type Signer = RelayWorld["creator"] | Wallet;

/** Attacks on the relay, each against a real relay on a loopback port over the in-process chain. */
describe("relay: attacks and their defences", function () {
  let world: RelayWorld;
  let relay: RunningRelay;
  let dataDir: string;

  before(async function () {
    world = await relayWorld();
    dataDir = await tempDataDir();
    relay = await world.relay(dataDir);
  });

  after(async function () {
    await relay.close();
    await world.close();
  });

  const client = (signer: Signer) => new RelayClient(relay.url, signer, { retries: 0 });

  async function signedPut(signer: Signer, urlPath: string, body: Uint8Array, extra: { nonce?: string; signedPath?: string } = {}) {
    const headers = await signRelayRequest(signer, {
      domain: world.domain,
      method: "PUT",
      path: extra.signedPath ?? urlPath,
      body,
      nonce: extra.nonce,
    });
    return fetch(`${relay.url}${urlPath}`, { method: "PUT", headers: { ...headers, "content-type": "application/octet-stream" }, body });
  }

  async function expectError(response: Response, status: number, code: string): Promise<string> {
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status, body.error?.message).to.equal(status);
    expect(body.error.code).to.equal(code);
    expect(body.error.message).to.be.a("string").and.not.empty;
    return body.error.message;
  }

  /** A raw HTTP/1.1 exchange: what fetch would not send (lying Content-Length, chunked bodies, huge headers). */
  function rawExchange(request: string | Buffer, waitMs = 5_000): Promise<string> {
    const { port } = new URL(relay.url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), "127.0.0.1");
      let received = "";
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(received);
      }, waitMs);
      socket.on("data", (chunk) => {
        received += chunk.toString("latin1");
        if (/\r\n\r\n/.test(received) && /"error"|"ok"|"kind"/.test(received)) {
          clearTimeout(timer);
          socket.destroy();
          resolve(received);
        }
      });
      socket.on("error", reject);
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(received);
      });
      socket.write(request);
    });
  }

  it("replay of a signed args upload to another task's path: refused (the path is signed)", async function () {
    const args = document("same bytes for two tasks");
    const first = await world.createTask(args);
    const second = await world.createTask(args);
    const headers = await signRelayRequest(world.creator, {
      domain: world.domain,
      method: "PUT",
      path: taskObjectPath(first, "args"),
      body: args,
    });
    const response = await fetch(`${relay.url}${taskObjectPath(second, "args")}`, { method: "PUT", headers, body: args });
    await expectError(response, 401, "bad_signature");
  });

  it("replay of a signed request at a relay of another chain or deployment: refused (chain id and task manager are signed)", async function () {
    const args = document("signed for one deployment");
    const taskId = await world.createTask(args);
    await client(world.creator).putArgs(taskId, args);
    const urlPath = taskObjectPath(taskId, "args");
    const elsewhere = [
      { chainId: 1n, taskManager: world.taskManagerAddress },
      { chainId: 31337n, taskManager: `0x${"7a".repeat(20)}` },
    ];
    for (const domain of elsewhere) {
      const headers = await signRelayRequest(world.nodes[0], { domain, method: "GET", path: urlPath });
      const message = await expectError(await fetch(`${relay.url}${urlPath}`, { headers }), 401, "bad_signature");
      expect(message).to.contain("chain and task manager");
      const upload = await signRelayRequest(world.creator, { domain, method: "PUT", path: urlPath, body: args });
      await expectError(await fetch(`${relay.url}${urlPath}`, { method: "PUT", headers: upload, body: args }), 401, "bad_signature");
    }
    const health = (await (await fetch(`${relay.url}/healthz`)).json()) as { chainId: string; taskManager: string };
    expect(health).to.deep.include({ chainId: "31337", taskManager: world.taskManagerAddress });
    // A client told its deployment signs for it, without asking the relay.
    const told = new RelayClient(relay.url, world.nodes[1], { retries: 0, domain: world.domain });
    expect(await told.getArgs(taskId, keccak256(args))).to.deep.equal(args);
    const misled = new RelayClient(relay.url, world.nodes[1], { retries: 0, domain: elsewhere[0] });
    await misled.getArgs(taskId, keccak256(args)).then(
      () => expect.fail("a request signed for another chain was accepted"),
      (error: { status: number; code: string }) => expect(error).to.include({ status: 401, code: "bad_signature" }),
    );
  });

  it("replay of a captured signed GET, verbatim or with a query string added: refused (nonce used, query signed)", async function () {
    const args = document("captured read");
    const taskId = await world.createTask(args);
    await client(world.creator).putArgs(taskId, args);
    const urlPath = taskObjectPath(taskId, "args");
    const headers = await signRelayRequest(world.nodes[0], { domain: world.domain, method: "GET", path: urlPath });
    expect((await fetch(`${relay.url}${urlPath}`, { headers })).status).to.equal(200);
    await expectError(await fetch(`${relay.url}${urlPath}`, { headers }), 401, "replayed_nonce");
    await expectError(await fetch(`${relay.url}${urlPath}?again=1`, { headers }), 401, "bad_signature");
  });

  it("reuse of a nonce on a different request, freshly signed: refused (a nonce is single-use per account)", async function () {
    const args = document("nonce reuse");
    const taskId = await world.createTask(args);
    const nonce = "0123456789abcdef0123456789abcdef";
    expect((await signedPut(world.creator, taskObjectPath(taskId, "args"), args, { nonce })).status).to.equal(201);
    const headers = await signRelayRequest(world.creator, {
      domain: world.domain,
      method: "GET",
      path: taskObjectPath(taskId, "args"),
      nonce,
    });
    await expectError(await fetch(`${relay.url}${taskObjectPath(taskId, "args")}`, { headers }), 401, "replayed_nonce");
    // The same nonce in upper case or with 0x is the same nonce.
    const upper = await signRelayRequest(world.creator, {
      domain: world.domain,
      method: "GET",
      path: taskObjectPath(taskId, "args"),
      nonce: `0x${nonce.toUpperCase()}`,
    });
    await expectError(await fetch(`${relay.url}${taskObjectPath(taskId, "args")}`, { headers: upper }), 401, "replayed_nonce");
  });

  it("upload of args for a task the attacker did not create, or that does not exist yet: 403 / 404", async function () {
    const args = document("victim's task");
    const taskId = await world.createTask(args);
    const stranger = Wallet.createRandom();
    expect((await signedPut(stranger, taskObjectPath(taskId, "args"), args)).status).to.equal(403);
    await expectError(await signedPut(world.outsider, taskObjectPath(taskId + 1000n, "args"), args), 404, "unknown_task");
  });

  it("overwrite of stored args or result with other bytes: refused (422); identical bytes are idempotent (200)", async function () {
    const args = document("original args");
    const result = document("original result");
    const taskId = await world.createTask(args, { status: TaskStatus.Succeeded, result });
    expect((await signedPut(world.creator, taskObjectPath(taskId, "args"), args)).status).to.equal(201);
    expect((await signedPut(world.nodes[0], taskObjectPath(taskId, "result"), result)).status).to.equal(201);

    await expectError(await signedPut(world.creator, taskObjectPath(taskId, "args"), document("evil args")), 422, "hash_mismatch");
    await expectError(await signedPut(world.nodes[1], taskObjectPath(taskId, "result"), document("evil")), 422, "hash_mismatch");
    expect((await signedPut(world.creator, taskObjectPath(taskId, "args"), args)).status).to.equal(200);
    expect((await signedPut(world.nodes[2], taskObjectPath(taskId, "result"), result)).status).to.equal(200);
    expect(await client(world.nodes[0]).getArgs(taskId, keccak256(args))).to.deep.equal(args);
    expect(await client(world.outsider).getResult(taskId, keccak256(result))).to.deep.equal(result);
  });

  it("result upload by the creator, an outsider, or a node before Succeeded: 403 / 403 / 409", async function () {
    const args = document("result roles");
    const result = document("result bytes");
    const taskId = await world.createTask(args, { status: TaskStatus.Revealing, result });
    await expectError(await signedPut(world.creator, taskObjectPath(taskId, "result"), result), 403, "not_task_node");
    await expectError(await signedPut(world.outsider, taskObjectPath(taskId, "result"), result), 403, "not_task_node");
    await expectError(await signedPut(world.nodes[0], taskObjectPath(taskId, "result"), result), 409, "task_not_succeeded");
  });

  it("body other than the signed body hash, under any content type: refused; JSON bodies are stored byte for byte", async function () {
    const args = document('{ "model" : "stories260K",  "spaces": "kept" }');
    const taskId = await world.createTask(args);
    const urlPath = taskObjectPath(taskId, "args");
    const headers = await signRelayRequest(world.creator, { domain: world.domain, method: "PUT", path: urlPath, body: args });
    const swapped = document('{"model":"stories260K","spaces":"kept"}');
    const json = { ...headers, "content-type": "application/json" };
    await expectError(await fetch(`${relay.url}${urlPath}`, { method: "PUT", headers: json, body: swapped }), 401, "bad_signature");
    const fresh = await signRelayRequest(world.creator, { domain: world.domain, method: "PUT", path: urlPath, body: args });
    const stored = await fetch(`${relay.url}${urlPath}`, {
      method: "PUT",
      headers: { ...fresh, "content-type": "application/json" },
      body: args,
    });
    expect(stored.status).to.equal(201);
    expect(await client(world.nodes[1]).getArgs(taskId, keccak256(args))).to.deep.equal(args);
  });

  it("forged upload declaring a 4 MiB body it never sends: refused at once, before a body byte is read", async function () {
    const args = document("slow body");
    const result = document("slow result");
    const taskId = await world.createTask(args, { status: TaskStatus.Succeeded, result });
    const urlPath = taskObjectPath(taskId, "result");
    const headers = await signRelayRequest(world.nodes[0], { domain: world.domain, method: "PUT", path: urlPath, body: result });
    headers[AUTH_HEADERS.signature] = `0x${"11".repeat(65)}`;
    const started = Date.now();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(`${relay.url}${urlPath}`, {
        method: "PUT",
        headers: { ...headers, "content-type": "application/octet-stream", "content-length": String(MAX_RESULT_BYTES) },
      });
      request.on("response", (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on("error", reject);
      request.write(Buffer.alloc(1024)); // and never the rest
    });
    expect(answer.status).to.equal(401);
    expect(JSON.parse(answer.body).error.code).to.equal("bad_signature");
    expect(Date.now() - started).to.be.below(3_000);
  });

  it("Content-Length smaller than the body sent: nothing stored (the tail is a malformed next request, the prefix fails the hash)", async function () {
    const args = document("the whole document, of which only a prefix is declared");
    const taskId = await world.createTask(args);
    const urlPath = taskObjectPath(taskId, "args");
    const headers = await signRelayRequest(world.creator, { domain: world.domain, method: "PUT", path: urlPath, body: args });
    const lines = Object.entries({ ...headers, host: "127.0.0.1", "content-length": "10" });
    const head = `PUT ${urlPath} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
    const response = await rawExchange(Buffer.concat([Buffer.from(head), Buffer.from(args)]));
    expect(response).to.match(/^HTTP\/1\.1 (400|401) /);
    const read = await signRelayRequest(world.nodes[0], { domain: world.domain, method: "GET", path: urlPath });
    await expectError(await fetch(`${relay.url}${urlPath}`, { headers: read }), 404, "args_not_uploaded");
  });

  it("chunked body over the route's limit (no Content-Length): 413 payload_too_large", async function () {
    const big = new Uint8Array(MAX_ARGS_BYTES + 4096).fill(3);
    const taskId = await world.createTask(big);
    const urlPath = taskObjectPath(taskId, "args");
    const headers = await signRelayRequest(world.creator, { domain: world.domain, method: "PUT", path: urlPath, body: big });
    const lines = Object.entries({ ...headers, host: "127.0.0.1", "transfer-encoding": "chunked", connection: "close" });
    const head = `PUT ${urlPath} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
    const chunks: Buffer[] = [Buffer.from(head)];
    for (let offset = 0; offset < big.length; offset += 65536) {
      const piece = big.subarray(offset, offset + 65536);
      chunks.push(Buffer.from(`${piece.length.toString(16)}\r\n`), Buffer.from(piece), Buffer.from("\r\n"));
    }
    chunks.push(Buffer.from("0\r\n\r\n"));
    const response = await rawExchange(Buffer.concat(chunks));
    expect(response).to.match(/^HTTP\/1\.1 413/);
    expect(response).to.contain("payload_too_large");
    await expectError(
      await fetch(`${relay.url}${urlPath}`, {
        headers: await signRelayRequest(world.creator, { domain: world.domain, method: "GET", path: urlPath }),
      }),
      404,
      "args_not_uploaded",
    );
  });

  it("huge request headers: refused by the HTTP layer (431), and the relay keeps serving", async function () {
    const response = await rawExchange(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-junk: ${"a".repeat(64 * 1024)}\r\n\r\n`);
    expect(response).to.match(/^HTTP\/1\.1 431/);
    expect((await fetch(`${relay.url}/healthz`)).status).to.equal(200);
  });

  it("non-canonical task ids (leading zero, sign, hex, exponent, encoded, over 2^256, traversal): 400 bad_task_id", async function () {
    const ids = ["01", "+1", "0x1", "1e2", "1.0", "%201", "%31", "-1", "0", "9".repeat(80), "..%2F..%2Fnonces.json", "1%00"];
    for (const id of ids) {
      const message = await expectError(await fetch(`${relay.url}/v1/tasks/${id}/result`), 400, "bad_task_id");
      expect(message).to.contain("taskId");
    }
    // What the router refuses before any route runs is answered in the relay's error format too.
    await expectError(await fetch(`${relay.url}/v1/tasks/${"9".repeat(200)}/result`), 414, "path_too_long");
    await expectError(await fetch(`${relay.url}/v1/tasks/%E0%A4%A/result`), 400, "bad_url");
  });

  it("path traversal in the pending-args hash: 400 bad_args_hash, nothing written outside pending/", async function () {
    for (const hash of ["..%2F..%2Fnonces.json", `0x${"a".repeat(63)}`, `0x${"g".repeat(64)}`, `${"a".repeat(66)}`]) {
      await expectError(await signedPut(world.creator, `/v1/args/${hash}`, document("x")), 400, "bad_args_hash");
    }
    expect((await readdir(dataDir)).sort()).to.deep.equal(["nonces.json", "objects", "pending", "tasks"]);
  });

  it("unsigned or outsider read of someone's args (results are public): 401 / 403", async function () {
    const args = document("private prompt");
    const taskId = await world.createTask(args);
    await client(world.creator).putArgs(taskId, args);
    await expectError(await fetch(`${relay.url}${taskObjectPath(taskId, "args")}`), 401, "missing_auth");
    await expectError(
      await fetch(`${relay.url}${taskObjectPath(taskId, "args")}`, {
        headers: await signRelayRequest(world.outsider, { domain: world.domain, method: "GET", path: taskObjectPath(taskId, "args") }),
      }),
      403,
      "not_task_party",
    );
  });

  it("squatting a victim's pending upload (same hash, attacker's account): the victim's task never gets it", async function () {
    const args = document("victim document");
    await client(world.outsider).putPendingArgs(args);
    const taskId = await world.createTask(args);
    await expectError(
      await fetch(`${relay.url}${taskObjectPath(taskId, "args")}`, {
        headers: await signRelayRequest(world.nodes[0], { domain: world.domain, method: "GET", path: taskObjectPath(taskId, "args") }),
      }),
      404,
      "args_not_uploaded",
    );
    await client(world.creator).putPendingArgs(args);
    expect(await client(world.nodes[0]).getArgs(taskId, keccak256(args))).to.deep.equal(args);
  });

  it("concurrent duplicate uploads racing: every one succeeds with the same bytes, one object is stored", async function () {
    const args = document("raced upload");
    const taskId = await world.createTask(args);
    const before = (await client(world.creator).health()).storedObjects;
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async () => (await signedPut(world.creator, taskObjectPath(taskId, "args"), args)).status),
    );
    for (const status of statuses) expect([200, 201]).to.include(status);
    expect((await client(world.creator).health()).storedObjects).to.equal(before + 1);
    expect(await client(world.nodes[2]).getArgs(taskId, keccak256(args))).to.deep.equal(args);
  });

  it("pending-args flood from many fresh accounts: refused once the store total (4 KiB a file at least) is reached (507)", async function () {
    const floodDir = await tempDataDir();
    const capped = await startRelay({
      port: 0,
      dataDir: floodDir,
      rpcUrl: world.rpcUrl,
      taskManager: world.taskManagerAddress,
      logger: silentLogger(),
      pendingArgsMaxBytes: 3 * 4096,
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const sybil = Wallet.createRandom();
        const bytes = new Uint8Array(4096).fill(i + 1);
        const headers = await signRelayRequest(sybil, {
          domain: world.domain,
          method: "PUT",
          path: pendingArgsPath(keccak256(bytes)),
          body: bytes,
        });
        const response = await fetch(`${capped.url}${pendingArgsPath(keccak256(bytes))}`, { method: "PUT", headers, body: bytes });
        statuses.push(response.status);
        if (response.status !== 201)
          expect(((await response.json()) as { error: { code: string } }).error.code).to.equal("pending_store_full");
      }
      expect(statuses).to.deep.equal([201, 201, 201, 507, 507]);
      expect(await readdir(path.join(floodDir, "pending"))).to.have.length(3);
      await rm(path.join(floodDir, "pending", (await readdir(path.join(floodDir, "pending")))[0]!));
      // Tiny uploads count a disk block each: a flood of 1-byte files is bounded in files too.
      const tiny = [];
      for (let i = 0; i < 3; i += 1) {
        const bytes = new Uint8Array([i + 100]);
        const urlPath = pendingArgsPath(keccak256(bytes));
        const headers = await signRelayRequest(Wallet.createRandom(), { domain: world.domain, method: "PUT", path: urlPath, body: bytes });
        tiny.push((await fetch(`${capped.url}${urlPath}`, { method: "PUT", headers, body: bytes })).status);
      }
      expect(tiny).to.deep.equal([201, 507, 507]);
    } finally {
      await capped.close();
    }
  });

  it("nonce flood (many signed requests at once): persisted in a few coalesced writes, every nonce still refused after a restart", async function () {
    const file = path.join(await tempDataDir(), "nonces.json");
    const nonces = await NonceStore.open(file, 60);
    const now = Math.floor(Date.now() / 1000);
    const keys = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(32, "0"));
    const accepted = await Promise.all(keys.map((nonce, i) => nonces.consume(`0x${(i % 7).toString().repeat(40)}`, nonce, now, now)));
    expect(accepted.every(Boolean)).to.equal(true);
    expect(nonces.writes, "one write per request would be 500").to.be.at.most(3);
    const reopened = await NonceStore.open(file, 60);
    for (const [i, nonce] of keys.entries()) {
      expect(await reopened.consume(`0x${(i % 7).toString().repeat(40)}`, nonce, now, now)).to.equal(false);
    }
  });

  it("slow body (valid signature, body trickled in and stalled): connection closed after the request timeout, nothing stored", async function () {
    const slowDir = await tempDataDir();
    const slow = await startRelay({
      port: 0,
      dataDir: slowDir,
      rpcUrl: world.rpcUrl,
      taskManager: world.taskManagerAddress,
      logger: silentLogger(),
      requestTimeoutMs: 1_000,
    });
    try {
      const bytes = new Uint8Array(64 * 1024).fill(9);
      const urlPath = pendingArgsPath(keccak256(bytes));
      const headers = await signRelayRequest(Wallet.createRandom(), { domain: world.domain, method: "PUT", path: urlPath, body: bytes });
      const lines = Object.entries({ ...headers, host: "127.0.0.1", "content-length": String(bytes.length) });
      const head = `PUT ${urlPath} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
      const { port } = new URL(slow.url);
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), "127.0.0.1");
        let received = "";
        socket.on("data", (chunk) => (received += chunk.toString("latin1")));
        socket.on("close", () => resolve(received));
        socket.on("error", reject);
        socket.write(Buffer.concat([Buffer.from(head), Buffer.from(bytes.subarray(0, 1024))]));
      });
      expect(answer, "no answer: the connection is closed").to.equal("");
      expect(Date.now() - started).to.be.within(900, 5_000);
      expect(await readdir(path.join(slowDir, "pending"))).to.deep.equal([]);
      expect((await fetch(`${slow.url}/healthz`)).status, "and the relay keeps serving").to.equal(200);
    } finally {
      await slow.close();
    }
  });
});
