import { mkdtemp, readdir, rm, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { PendingArgs } from "../../worker/relay/pending-args.js";

const alice = "0x00000000000000000000000000000000000000a1";
const bob = "0x00000000000000000000000000000000000000b2";
const bytes = (text: string) => toUtf8Bytes(text);

describe("relay: arguments uploaded before their task exists", function () {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), "triad-pending-"))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("keeps each upload per uploader: another account's upload of the same bytes is not the creator's", async function () {
    const pending = await PendingArgs.open(dir);
    const args = bytes("task document");
    expect(await pending.put(keccak256(args), bob, args, Date.now())).to.equal("stored");
    expect(await pending.get(keccak256(args), alice, Date.now())).to.equal(null);
    expect(new TextDecoder().decode((await pending.get(keccak256(args), bob, Date.now()))!)).to.equal("task document");
    await pending.remove(keccak256(args), bob);
    expect(await pending.get(keccak256(args), bob, Date.now())).to.equal(null);
  });

  it("caps unclaimed uploads per account; renewing an upload it already holds is allowed", async function () {
    const pending = await PendingArgs.open(dir, { maxPerUploader: 2 });
    const now = Date.now();
    const [a, b, c] = ["a", "b", "c"].map(bytes);
    expect(await pending.put(keccak256(a!), alice, a!, now)).to.equal("stored");
    expect(await pending.put(keccak256(b!), alice, b!, now)).to.equal("stored");
    expect(await pending.put(keccak256(c!), alice, c!, now), "a third one is refused").to.equal("too_many_for_uploader");
    expect(await pending.put(keccak256(a!), alice, a!, now), "the same one again renews it").to.equal("stored");
    expect(await pending.put(keccak256(c!), bob, c!, now), "another account has its own quota").to.equal("stored");
  });

  it("expires unclaimed uploads after the time to live and deletes their bytes", async function () {
    const pending = await PendingArgs.open(dir, { ttlSeconds: 60 });
    const old = bytes("old");
    const fresh = bytes("fresh");
    await pending.put(keccak256(old), alice, old, Date.now());
    await pending.put(keccak256(fresh), alice, fresh, Date.now());
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    const oldFile = (await readdir(dir)).find((name) => name.startsWith(keccak256(old).slice(2)))!;
    await utimes(path.join(dir, oldFile), twoMinutesAgo, twoMinutesAgo);
    expect(await pending.get(keccak256(old), alice, Date.now()), "an expired upload is not handed out").to.equal(null);
    expect(await pending.expire(Date.now())).to.equal(1);
    expect(await readdir(dir)).to.have.length(1);
    expect(await pending.get(keccak256(fresh), alice, Date.now())).not.to.equal(null);
  });
});
