import { expect } from "chai";
import { parseEther } from "ethers";
import { BridgeConfigError, parseBridgeConfig } from "../../worker/bridge/config.js";

const minimal = {
  rpcUrl: "http://127.0.0.1:8545",
  relayUrl: "http://127.0.0.1:8547",
  privateKey: `0x${"22".repeat(32)}`,
  deployment: "deployments/31337.json",
  apiKeys: [{ key: "sk-0123456789abcdef", name: "app", requestsPerMinute: 30, spendingCap: "12.5" }],
};

function configError(document: unknown): string {
  try {
    parseBridgeConfig(document, "/base");
  } catch (error) {
    expect(error).to.be.instanceOf(BridgeConfigError);
    return (error as Error).message;
  }
  throw new Error("the config was accepted");
}

describe("bridge config", function () {
  it("fills defaults, converts TRIAD amounts to wei and resolves the deployment path", function () {
    const config = parseBridgeConfig(minimal, "/base");
    expect(config).to.include({
      host: "127.0.0.1",
      port: 8548,
      minVramGb: 1,
      timeoutMs: 120_000,
      deployment: "/base/deployments/31337.json",
    });
    expect(config.feeWei).to.equal(undefined);
    expect(config.models).to.deep.equal(["stories260K"]);
    expect(config.apiKeys[0]!.spendingCapWei).to.equal(parseEther("12.5"));
    expect(config.stateFile, "the SQLite state beside the config").to.equal("/base/bridge-state.sqlite");
    expect(config.modelsDir).to.equal(undefined);
    const placed = parseBridgeConfig({ ...minimal, stateFile: "state/b.sqlite", modelsDir: "../models" }, "/base");
    expect(placed).to.include({ stateFile: "/base/state/b.sqlite", modelsDir: "/models" });
  });

  it("names every problem with its path", function () {
    const message = configError({
      ...minimal,
      port: 70000,
      fee: "-1",
      apiKeys: [{ key: "short", name: "x", requestsPerMinute: 0, spendingCap: "1" }],
    });
    expect(message).to.contain("$.port: must be <= 65535");
    expect(message).to.contain("$.fee: must match pattern");
    expect(message).to.contain("$.apiKeys[0].key: must NOT have fewer than 16 characters");
    expect(message).to.contain("$.apiKeys[0].requestsPerMinute: must be >= 1");
  });

  it("refuses an API key given twice", function () {
    const key = minimal.apiKeys[0]!;
    expect(configError({ ...minimal, apiKeys: [key, { ...key, name: "copy" }] })).to.contain('the key of "copy" is used twice');
  });
});
