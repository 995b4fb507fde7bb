import { expect } from "chai";
import { keccak256 } from "ethers";
import { TaskStatus } from "../../worker/chain/enums.js";
import { RelayClient } from "../../worker/relay/client.js";
import { RelayError } from "../../worker/relay/errors.js";
import {
  AUTH_HEADERS,
  MAX_ARGS_BYTES,
  MAX_RESULT_BYTES,
  signRelayRequest,
  taskObjectPath,
  unixSeconds,
} from "../../worker/relay/protocol.js";
import type { RunningRelay } from "../../worker/relay/server.js";
import { startRelay } from "../../worker/relay/server.js";
import { deadUrl, document, relayWorld, silentLogger, tempDataDir, type RelayWorld } from "./fixtures.js";

describe("relay server", function () {
  let world: RelayWorld;
  let relay: RunningRelay;

  before(async function () {
    world = await relayWorld();
    relay = await world.relay(await tempDataDir());
  });

  after(async function () {
    await relay.close();
    await world.close();
  });

  const client = (signer: RelayWorld["creator"]) => new RelayClient(relay.url, signer, { retries: 0 });

  /** A PUT signed by `signer` over `signedBody`, sending `sentBody`. */
  async function rawPut(
    signer: RelayWorld["creator"],
    path: string,
    sentBody: Uint8Array,
    sign: { body?: Uint8Array; timestamp?: number; nonce?: string } = {},
  ) {
    const headers = await signRelayRequest(signer, { domain: world.domain, method: "PUT", path, body: sign.body ?? sentBody, ...sign });
    return fetch(`${relay.url}${path}`, {
      method: "PUT",
      headers: { ...headers, "content-type": "application/octet-stream" },
      body: sentBody,
    });
  }

  async function expectError(response: Response, status: number, code: string) {
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status, body.error?.message).to.equal(status);
    expect(body.error.code).to.equal(code);
    expect(body.error.message).to.be.a("string").and.not.empty;
  }

  async function expectRelayError(promise: Promise<unknown>, status: number, code: string) {
    try {
      await promise;
    } catch (error) {
      expect(error).to.be.instanceOf(RelayError);
      expect((error as RelayError).status, (error as RelayError).message).to.equal(status);
      expect((error as RelayError).code).to.equal(code);
      return;
    }
    expect.fail(`expected a ${status} ${code} RelayError`);
  }

  it("round-trips args and result, verified against the chain's hashes", async function () {
    const args = document('{"model":"stories260K","prompt":"Once upon a time"}');
    const result = document('{"choices":[{"text":"there was a cat"}]}');
    const taskId = await world.createTask(args);
    const [nodeA, nodeB] = world.nodes;

    const first = await client(world.creator).putArgs(taskId, args);
    expect(first).to.include({ taskId: taskId.toString(), kind: "args", hash: keccak256(args), created: true });
    const repeat = await client(world.creator).putArgs(taskId, args);
    expect(repeat.created).to.equal(false);

    expect(await client(nodeA).getArgs(taskId, keccak256(args))).to.deep.equal(args);
    expect(await client(world.creator).getArgs(taskId, keccak256(args))).to.deep.equal(args);

    await world.setTask(taskId, args, { status: TaskStatus.Succeeded, result });
    const stored = await client(nodeB).putResult(taskId, result);
    expect(stored).to.include({ kind: "result", hash: keccak256(result), bytes: result.length, created: true });
    expect(await client(world.outsider).getResult(taskId, keccak256(result))).to.deep.equal(result);
    const anonymous = await fetch(`${relay.url}${taskObjectPath(taskId, "result")}`);
    expect(anonymous.status).to.equal(200);
    expect(anonymous.headers.get("x-triad-content-hash")).to.equal(keccak256(result));
  });

  it("reports chain id, block number and stored object count on /healthz", async function () {
    const before = await client(world.creator).health();
    const args = document("health probe task");
    await client(world.creator).putArgs(await world.createTask(args), args);
    const after = await client(world.creator).health();
    expect(after.ok).to.equal(true);
    expect(after.chainId).to.equal("31337");
    expect(after.blockNumber).to.be.greaterThan(0);
    expect(after.storedObjects).to.equal(before.storedObjects + 1);
  });

  it("accepts args of exactly 1 MiB and rejects one byte more with 413", async function () {
    const largest = new Uint8Array(MAX_ARGS_BYTES).fill(7);
    const taskId = await world.createTask(largest);
    expect((await client(world.creator).putArgs(taskId, largest)).bytes).to.equal(MAX_ARGS_BYTES);

    const tooLarge = new Uint8Array(MAX_ARGS_BYTES + 1).fill(7);
    const tooLargeTask = await world.createTask(tooLarge);
    await expectError(await rawPut(world.creator, taskObjectPath(tooLargeTask, "args"), tooLarge), 413, "payload_too_large");
  });

  it("rejects a result over 4 MiB with 413", async function () {
    const args = document("oversized result task");
    const tooLarge = new Uint8Array(MAX_RESULT_BYTES + 1).fill(1);
    const taskId = await world.createTask(args, { status: TaskStatus.Succeeded, result: tooLarge });
    const response = await rawPut(world.nodes[0], taskObjectPath(taskId, "result"), tooLarge);
    await expectError(response, 413, "payload_too_large");
  });

  it("rejects a signature by another key than the claimed address with 401", async function () {
    const args = document("forged signer task");
    const taskId = await world.createTask(args);
    const path = taskObjectPath(taskId, "args");
    const forged = await signRelayRequest(world.outsider, { domain: world.domain, method: "PUT", path, body: args });
    forged[AUTH_HEADERS.address] = world.creator.address;
    const response = await fetch(`${relay.url}${path}`, { method: "PUT", headers: forged, body: args });
    await expectError(response, 401, "bad_signature");
  });

  it("rejects a body other than the one signed with 401", async function () {
    const args = document("signed body task");
    const taskId = await world.createTask(args);
    const response = await rawPut(world.creator, taskObjectPath(taskId, "args"), document("something else"), { body: args });
    await expectError(response, 401, "bad_signature");
  });

  it("checks signature, nonce and role before hashing a body (a junk-signed body costs no hashing)", async function () {
    const args = document("cheap checks first");
    const taskId = await world.createTask(args);
    const path = taskObjectPath(taskId, "args");
    const junk = new Uint8Array(MAX_ARGS_BYTES).fill(7);
    const headers = await signRelayRequest(world.creator, { domain: world.domain, method: "PUT", path, body: args });
    headers[AUTH_HEADERS.signature] = `0x${"11".repeat(65)}`;
    const octets = { "content-type": "application/octet-stream" };
    const forged = await fetch(`${relay.url}${path}`, { method: "PUT", headers: { ...headers, ...octets }, body: junk });
    const body = (await forged.json()) as { error: { code: string; message: string } };
    expect(forged.status).to.equal(401);
    expect(body.error.message, "refused on the signature, not on the body").not.to.contain("keccak256 of the body");
    // A valid signature by the wrong role over a body that does not match: the role decides, the body is never hashed.
    await expectError(await rawPut(world.nodes[0], path, junk.subarray(0, 1000), { body: args }), 403, "not_task_creator");
    const signed = await signRelayRequest(world.creator, { domain: world.domain, method: "PUT", path, body: args });
    const { [AUTH_HEADERS.bodyHash]: _omitted, ...withoutBodyHash } = signed;
    const missing = await fetch(`${relay.url}${path}`, { method: "PUT", headers: { ...withoutBodyHash, ...octets }, body: args });
    await expectError(missing, 401, "missing_auth");
  });

  it("hands arguments uploaded before createTask to the task their uploader creates, and only to it", async function () {
    const args = document("uploaded before the fee is paid");
    const receipt = await client(world.creator).putPendingArgs(args);
    expect(receipt).to.include({ hash: keccak256(args), bytes: args.length });
    const taskId = await world.createTask(args);
    const fetched = await Promise.all(world.nodes.map((node) => client(node).getArgs(taskId, keccak256(args))));
    for (const bytes of fetched) expect(new TextDecoder().decode(bytes)).to.equal(new TextDecoder().decode(args));

    // The same bytes uploaded by an outsider are not the creator's: a task whose creator uploaded nothing has no args.
    const other = document("uploaded by someone else");
    await client(world.outsider).putPendingArgs(other);
    const unclaimed = await world.createTask(other);
    await expectRelayError(client(world.nodes[0]).getArgs(unclaimed, keccak256(other)), 404, "args_not_uploaded");
  });

  it("refuses pending arguments that do not hash to the path, or over 1 MiB", async function () {
    const args = document("pending mismatch");
    const path = `/v1/args/${keccak256(document("another"))}`;
    await expectError(await rawPut(world.creator, path, args), 422, "hash_mismatch");
    const big = new Uint8Array(MAX_ARGS_BYTES + 1);
    await expectError(await rawPut(world.creator, `/v1/args/${keccak256(big)}`, big), 413, "payload_too_large");
  });

  it("rejects a request without auth headers with 401 naming the header", async function () {
    const args = document("unsigned task");
    const taskId = await world.createTask(args);
    const response = await fetch(`${relay.url}${taskObjectPath(taskId, "args")}`, { method: "PUT", body: args });
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status).to.equal(401);
    expect(body.error.code).to.equal("missing_auth");
    expect(body.error.message).to.contain(AUTH_HEADERS.address);
  });

  it("rejects timestamps more than 60 s off in either direction with 401", async function () {
    const args = document("stale timestamp task");
    const taskId = await world.createTask(args);
    const path = taskObjectPath(taskId, "args");
    const now = unixSeconds();
    await expectError(await rawPut(world.creator, path, args, { timestamp: now - 90 }), 401, "stale_timestamp");
    await expectError(await rawPut(world.creator, path, args, { timestamp: now + 90 }), 401, "stale_timestamp");
    expect((await rawPut(world.creator, path, args, { timestamp: now - 30 })).status).to.equal(201);
  });

  it("rejects a replayed nonce with 401, also on a GET", async function () {
    const args = document("replay task");
    const taskId = await world.createTask(args);
    const path = taskObjectPath(taskId, "args");
    const nonce = "00112233445566778899aabbccddeeff";
    expect((await rawPut(world.creator, path, args, { nonce })).status).to.equal(201);
    await expectError(await rawPut(world.creator, path, args, { nonce }), 401, "replayed_nonce");

    const headers = await signRelayRequest(world.nodes[0], { domain: world.domain, method: "GET", path });
    expect((await fetch(`${relay.url}${path}`, { headers })).status).to.equal(200);
    await expectError(await fetch(`${relay.url}${path}`, { headers }), 401, "replayed_nonce");
  });

  it("lets another account use a nonce already used by someone else", async function () {
    const args = document("shared nonce task");
    const taskId = await world.createTask(args);
    const path = taskObjectPath(taskId, "args");
    const nonce = "ffeeddccbbaa99887766554433221100";
    expect((await rawPut(world.creator, path, args, { nonce })).status).to.equal(201);
    const headers = await signRelayRequest(world.nodes[1], { domain: world.domain, method: "GET", path, nonce });
    expect((await fetch(`${relay.url}${path}`, { headers })).status).to.equal(200);
  });

  it("enforces roles with 403: creator uploads args, nodes upload results, outsiders read nothing signed", async function () {
    const args = document("role task");
    const result = document("role result");
    const taskId = await world.createTask(args, { status: TaskStatus.Succeeded, result });

    await expectRelayError(client(world.nodes[0]).putArgs(taskId, args), 403, "not_task_creator");
    await client(world.creator).putArgs(taskId, args);
    await expectRelayError(client(world.outsider).getArgs(taskId, keccak256(args)), 403, "not_task_party");
    await expectRelayError(client(world.creator).putResult(taskId, result), 403, "not_task_node");
    await expectRelayError(client(world.outsider).putResult(taskId, result), 403, "not_task_node");
  });

  it("accepts a result only once the task Succeeded (409 before)", async function () {
    const args = document("early result task");
    const result = document("early result");
    const taskId = await world.createTask(args, { status: TaskStatus.Revealing, result });
    await expectRelayError(client(world.nodes[2]).putResult(taskId, result), 409, "task_not_succeeded");
    await world.setTask(taskId, args, { status: TaskStatus.Succeeded, result });
    expect((await client(world.nodes[2]).putResult(taskId, result)).created).to.equal(true);
  });

  it("rejects bytes that do not hash to the on-chain hash with 422", async function () {
    const args = document("hash task");
    const result = document("hash result");
    const taskId = await world.createTask(args, { status: TaskStatus.Succeeded, result });
    await expectRelayError(client(world.creator).putArgs(taskId, document("hash task!")), 422, "hash_mismatch");
    await expectRelayError(client(world.nodes[0]).putResult(taskId, document("other result")), 422, "hash_mismatch");
    await expectRelayError(client(world.nodes[0]).getResult(taskId, keccak256(result)), 404, "result_not_uploaded");
  });

  it("answers 404 for unknown tasks and for objects not uploaded yet, 400 for malformed task ids", async function () {
    const args = document("never uploaded");
    await expectRelayError(client(world.creator).putArgs(999_999n, args), 404, "unknown_task");
    await expectRelayError(client(world.creator).getArgs(999_999n, keccak256(args)), 404, "unknown_task");
    const taskId = await world.createTask(args);
    await expectRelayError(client(world.creator).getArgs(taskId, keccak256(args)), 404, "args_not_uploaded");
    await expectRelayError(client(world.outsider).getResult(taskId, keccak256(args)), 404, "result_not_uploaded");
    for (const badId of ["007", "-1", "0x10", (1n << 256n).toString()]) {
      await expectError(await fetch(`${relay.url}/v1/tasks/${badId}/result`), 400, "bad_task_id");
    }
  });

  it("reads the chain through an injected ethers provider as well as through an RPC URL", async function () {
    const injected = await startRelay({
      port: 0,
      dataDir: await tempDataDir(),
      provider: world.ethers.provider,
      taskManager: world.taskManagerAddress,
      logger: silentLogger(),
    });
    try {
      const args = document("injected provider task");
      const taskId = await world.createTask(args);
      const creator = new RelayClient(injected.url, world.creator, { retries: 0 });
      await creator.putArgs(taskId, args);
      expect(await creator.getArgs(taskId, keccak256(args))).to.deep.equal(args);
      expect(await creator.health()).to.deep.include({ ok: true, chainId: "31337", storedObjects: 1 });
      await expectRelayError(creator.putArgs(taskId, document("not the document")), 422, "hash_mismatch");
    } finally {
      await injected.close();
    }
  });

  describe("with the chain unreachable", function () {
    let offline: RunningRelay;

    before(async function () {
      offline = await startRelay({
        port: 0,
        dataDir: await tempDataDir(),
        rpcUrl: await deadUrl(),
        taskManager: world.taskManagerAddress,
        logger: silentLogger(),
      });
    });

    after(async function () {
      await offline.close();
    });

    it("answers 503 on /healthz and on uploads, and the client retries before giving up", async function () {
      const health = await fetch(`${offline.url}/healthz`);
      expect(health.status).to.equal(503);
      expect(await health.json()).to.deep.include({ ok: false, chainId: null, storedObjects: 0 });

      const started = Date.now();
      const retrying = new RelayClient(offline.url, world.creator, { retries: 2, minRetryDelayMs: 50 });
      await expectRelayError(retrying.putArgs(1n, document("offline")), 503, "chain_unavailable");
      expect(Date.now() - started, "two backoff delays of >= 50 ms and >= 100 ms").to.be.at.least(150);
      expect((await retrying.health()).ok).to.equal(false);
    });
  });
});
