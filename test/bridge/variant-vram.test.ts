/**
 * The VRAM a task asks for comes from the model registry (issue 12: VRAM per variant): the bridge's ChainNetwork,
 * through the client library, asks for the registered VRAM of the variant the request's dtype / quantize_bits
 * selects (auto: the registered auto variant), raised to the config's minVramGb floor; a request selecting a
 * variant the model does not offer is refused with a 400 naming the field before anything is charged.
 */
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import OpenAI from "openai";
import type { ClientConnection } from "../../worker/client/connection.js";
import { InvalidTaskError } from "../../worker/client/submit.js";
import { ChainNetwork } from "../../worker/bridge/network.js";
import type { GptTask } from "../../worker/engine/index.js";
import { VARIANT, world, type World } from "../contracts/fixture.js";
import { keyIdOf } from "../../worker/bridge/store.js";
import { FakeNetwork, KEY, apiFailure, fakeBridge } from "./fake-network.js";

const MODEL_C = "model-c";
/** fp32 64 GB, fp16 32 GB, q4f16 16 GB (auto); q8 and q4 not offered. */
const C_VRAM: [number, number, number, number, number] = [64, 32, 0, 0, 16];

function chat(extra: Partial<GptTask> = {}): GptTask {
  return { model: MODEL_C, messages: [{ role: "user", content: "hi" }], seed: 1, ...extra };
}

describe("bridge: minVramGb from the registry entry of the request's variant", function () {
  let w: World;
  let conn: ClientConnection;

  beforeEach(async function () {
    w = await world();
    await (await w.registry.registerModel(MODEL_C, "c0ffee", ethersLib.id("model C"), C_VRAM, VARIANT.q4f16)).wait();
    await (await w.registry.enableModel(1, await w.registry.modelIndexOf(MODEL_C))).wait(); // H100 / 80 GB
    conn = {
      registry: w.registry,
      taskManager: w.taskManager.connect(w.creator),
      token: w.token.connect(w.creator),
      relay: { putPendingArgs: async () => ({ created: true }) },
      address: w.creator.address,
      deployment: w.deployment,
      signer: { reset() {} },
    } as unknown as ClientConnection;
  });

  async function minVramOf(network: ChainNetwork, task: GptTask): Promise<bigint> {
    const { taskId } = await network.submit(task);
    return (await w.taskManager.getTask(taskId)).minVramGb;
  }

  it("asks for the VRAM of the selected variant, auto = the registered auto variant, never below the floor", async function () {
    const network = new ChainNetwork(conn, { minVramFloorGb: 1 });
    expect(await minVramOf(network, chat()), "auto = q4f16").to.equal(16n);
    expect(await minVramOf(network, chat({ dtype: "float32" })), "fp32").to.equal(64n);
    expect(await minVramOf(network, chat({ dtype: "float16" })), "fp16").to.equal(32n);
    const floored = new ChainNetwork(conn, { minVramFloorGb: 24 });
    expect(await minVramOf(floored, chat()), "the config's floor").to.equal(24n);
    expect(await minVramOf(floored, chat({ dtype: "float32" })), "above the floor").to.equal(64n);
  });

  it("checkTask refuses an unoffered variant naming the field, before any transaction", async function () {
    const network = new ChainNetwork(conn, {});
    const before = await w.taskManager.taskCount();
    const q8 = await network.checkTask(chat({ quantize_bits: 8 })).catch((e: unknown) => e);
    expect(q8).to.be.instanceOf(InvalidTaskError);
    expect((q8 as InvalidTaskError).field).to.equal("$.quantize_bits");
    expect((q8 as Error).message).to.contain("dtype float16 with quantize_bits 8 has no ONNX variant");
    const q4 = await network.checkTask(chat({ dtype: "float32", quantize_bits: 4 })).catch((e: unknown) => e);
    expect((q4 as Error).message).to.contain("selects the q4 variant, which the registered model model-c does not offer");
    const submitted = await network.submit(chat({ dtype: "float32", quantize_bits: 4 })).catch((e: unknown) => e);
    expect(submitted).to.be.instanceOf(InvalidTaskError);
    expect(await w.taskManager.taskCount(), "no task created").to.equal(before);
  });
});

describe("bridge API: a request selecting an unoffered variant", function () {
  class VariantCheckingNetwork extends FakeNetwork {
    async checkTask(task: GptTask): Promise<void> {
      if (task.quantize_bits === 8) throw new InvalidTaskError("$.quantize_bits: selects the q8 variant, not offered", "$.quantize_bits");
    }
  }

  it("is a 400 naming quantize_bits (code unsupported_variant), and nothing is charged or submitted", async function () {
    const bridge = await fakeBridge({ network: new VariantCheckingNetwork() });
    try {
      const client = new OpenAI({ apiKey: KEY.key, baseURL: bridge.baseURL, maxRetries: 0 });
      const body = { model: "stories260K", messages: [{ role: "user" as const, content: "hi" }], quantize_bits: 8 };
      const error = await apiFailure(client.chat.completions.create(body as never));
      expect(error.status).to.equal(400);
      expect(error.param).to.equal("quantize_bits");
      expect(error.code).to.equal("unsupported_variant");
      expect(bridge.network.submitted).to.deep.equal([]);
      expect(bridge.store.spent(keyIdOf(KEY.key))).to.equal(0n);
    } finally {
      await bridge.app.close();
    }
  });
});
