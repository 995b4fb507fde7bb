import { expect } from "chai";
import { makeError } from "ethers";
import { withRpcRetries } from "../../worker/client/rpc-retry.js";

describe("client: chain reads retried with backoff", function () {
  it("retries network errors and RPC failures with growing delays, then returns the answer", async function () {
    const attempts: number[] = [];
    const answer = await withRpcRetries(
      "reading",
      async () => {
        attempts.push(Date.now());
        if (attempts.length === 1) throw new Error("connect ECONNREFUSED 127.0.0.1:8545");
        if (attempts.length === 2) throw makeError("server error", "SERVER_ERROR");
        return 42n;
      },
      { minRetryDelayMs: 40 },
    );
    expect(answer).to.equal(42n);
    expect(attempts).to.have.length(3);
    expect(attempts[2]! - attempts[1]!, "the second delay is longer (factor 2, jitter 1-2x)").to.be.at.least(70);
  });

  it("does not retry a revert, and names what it was doing", async function () {
    let attempts = 0;
    const failure = await withRpcRetries("task 7: reading its status", async () => {
      attempts++;
      throw makeError("execution reverted", "CALL_EXCEPTION", {
        action: "call",
        data: "0x",
        reason: null,
        transaction: { to: null, data: "0x" },
        invocation: null,
        revert: null,
      });
    }).catch((error: Error) => error);
    expect(attempts).to.equal(1);
    expect((failure as Error).message).to.match(/^task 7: reading its status: execution reverted/);
  });

  it("gives up after its retries with the last error, naming the task", async function () {
    let attempts = 0;
    const failure = await withRpcRetries(
      "task 9: reading its status",
      async () => {
        attempts++;
        throw new Error("socket hang up");
      },
      { retries: 2, minRetryDelayMs: 5 },
    ).catch((error: Error) => error);
    expect(attempts).to.equal(3);
    expect((failure as Error).message).to.equal("task 9: reading its status: socket hang up");
  });
});
