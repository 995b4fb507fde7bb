import { expect } from "chai";
import { ApiAccounts } from "../../worker/bridge/accounts.js";
import { buildBridgeApp } from "../../worker/bridge/app.js";
import { FEE, FakeNetwork, KEY } from "./fake-network.js";

/** A network that knows the on-chain model registry (ChainNetwork reads it from NodeRegistry). */
class RegistryNetwork extends FakeNetwork {
  async registeredModels() {
    return [
      { id: "stories260K", revision: "0123abcd" },
      { id: "not-served-here", revision: "main" },
    ];
  }
}

describe("bridge: /v1/models lists the served models registered on chain, with their revision", function () {
  it("drops a configured model the chain does not register and adds each model's pinned revision", async function () {
    const app = await buildBridgeApp({
      network: new RegistryNetwork(),
      accounts: new ApiAccounts([KEY]),
      models: ["stories260K", "unregistered"],
      fee: FEE,
      timeoutMs: 5_000,
    });
    const response = await app.inject({ method: "GET", url: "/v1/models", headers: { authorization: `Bearer ${KEY.key}` } });
    await app.close();
    expect(response.statusCode).to.equal(200);
    expect(response.json()).to.deep.equal({
      object: "list",
      data: [{ id: "stories260K", object: "model", created: 0, owned_by: "triad", revision: "0123abcd" }],
    });
  });
});
