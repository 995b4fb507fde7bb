/**
 * The model registry and selection by model (issue 12): governance pins models, groups enable them, createTask
 * names one, and the draw only considers groups that enable it. What the chain enforces: a task is only ever
 * drawn from a group whose enabled (drawable) models include the task's model, and a model enabled on a group
 * that already has nodes becomes drawable only after MODEL_ACTIVATION_DELAY. What it cannot see: files. The worker
 * verifies its files against the registered digests before joining or resuming (test/worker/model-check.test.ts).
 */
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import {
  CARD_4090,
  CARD_H100,
  FEE,
  MODEL,
  MODEL_DIGEST,
  MODEL_ID,
  MODEL_VARIANT_VRAM,
  TaskStatus,
  VARIANT,
  ethers,
  networkHelpers,
  world,
  type World,
} from "./fixture.js";

const DIGEST_B = ethersLib.id("model B manifest");
const DIGEST_C = ethersLib.id("model C manifest");
type VariantVram = [number, number, number, number, number];
/** Only the fp32 variant, at `vramGb`. */
const fp32Only = (vramGb: number): VariantVram => [vramGb, 0, 0, 0, 0];

async function registerB(w: World, vramGb = 40): Promise<bigint> {
  await (await w.registry.registerModel("model-b", "0123abcd", DIGEST_B, fp32Only(vramGb), VARIANT.fp32)).wait();
  return (await w.registry.modelCount()) - 1n;
}

/** Model C: fp32 64 GB, fp16 32 GB, q4f16 16 GB (auto); q8 and q4 not offered. */
const C_VRAM: VariantVram = [64, 32, 0, 0, 16];
async function registerC(w: World): Promise<bigint> {
  await (await w.registry.registerModel("model-c", "c0ffee", DIGEST_C, C_VRAM, VARIANT.q4f16)).wait();
  return (await w.registry.modelCount()) - 1n;
}

describe("Model registry", () => {
  it("governance registers a model: id, revision, digest and VRAM are readable, events say so", async () => {
    const w = await world();
    const entry = await w.registry.getModel(MODEL);
    expect([entry.id, entry.revision, entry.digest, entry.vramGb, entry.servedVramGb, entry.autoVariant]).to.deep.equal([
      MODEL_ID,
      "main",
      MODEL_DIGEST,
      1n,
      80n,
      BigInt(VARIANT.fp32),
    ]);
    expect(entry.variantVramGb.map(Number)).to.deep.equal(MODEL_VARIANT_VRAM);
    expect(await w.registry.modelIndexOf(MODEL_ID)).to.equal(MODEL);
    await expect(w.registry.registerModel("model-b", "0123abcd", DIGEST_B, fp32Only(40), VARIANT.fp32))
      .to.emit(w.registry, "ModelRegistered")
      .withArgs(1n, "model-b", "0123abcd", DIGEST_B, fp32Only(40), VARIANT.fp32);
    await expect(w.registry.modelIndexOf("nope")).to.be.revertedWithCustomError(w.registry, "UnknownModelId").withArgs("nope");
  });

  it("refuses bad registrations with a named error, and anyone but governance", async () => {
    const w = await world();
    const r = w.registry;
    const one = fp32Only(1);
    await expect(r.connect(w.outsider).registerModel("x", "main", DIGEST_B, one, 0)).to.be.revertedWithCustomError(
      r,
      "AccessControlUnauthorizedAccount",
    );
    await expect(r.registerModel("", "main", DIGEST_B, one, 0)).to.be.revertedWithCustomError(r, "InvalidModelId");
    await expect(r.registerModel("x".repeat(65), "main", DIGEST_B, one, 0)).to.be.revertedWithCustomError(r, "InvalidModelId");
    await expect(r.registerModel("x", "", DIGEST_B, one, 0)).to.be.revertedWithCustomError(r, "InvalidRevision");
    await expect(r.registerModel("x", "main", ethersLib.ZeroHash, one, 0)).to.be.revertedWithCustomError(r, "InvalidDigest");
    await expect(r.registerModel("x", "main", DIGEST_B, [0, 0, 0, 0, 0], 0)).to.be.revertedWithCustomError(r, "NoVariantOffered");
    await expect(r.registerModel("x", "main", DIGEST_B, one, VARIANT.q4f16))
      .to.be.revertedWithCustomError(r, "AutoVariantNotOffered")
      .withArgs(VARIANT.q4f16);
    // An auto variant outside the enum is refused by the ABI decoder (a bare revert).
    await expect(r.registerModel("x", "main", DIGEST_B, one, 5)).to.be.revert(ethers);
    await expect(r.registerModel(MODEL_ID, "other", DIGEST_B, one, 0))
      .to.be.revertedWithCustomError(r, "ModelExists")
      .withArgs(MODEL);
    await expect(r.connect(w.outsider).enableModel(0, MODEL)).to.be.revertedWithCustomError(r, "AccessControlUnauthorizedAccount");
    await expect(r.connect(w.outsider).retireModel(MODEL)).to.be.revertedWithCustomError(r, "AccessControlUnauthorizedAccount");
  });

  it("a model needing more VRAM than a group has cannot be enabled there; enabling twice or unknown models is refused", async () => {
    const w = await world();
    const b = await registerB(w, 40);
    await expect(w.registry.enableModel(0, b)).to.be.revertedWithCustomError(w.registry, "ModelTooLarge").withArgs(b, 40, 24);
    await expect(w.registry.enableModel(0, MODEL)).to.be.revertedWithCustomError(w.registry, "ModelAlreadyEnabled").withArgs(0n, MODEL);
    await expect(w.registry.enableModel(0, 9)).to.be.revertedWithCustomError(w.registry, "UnknownModel").withArgs(9n);
    await expect(w.registry.disableModel(0, b)).to.be.revertedWithCustomError(w.registry, "ModelNotEnabled").withArgs(0n, b);
  });

  describe("VRAM per variant", () => {
    it("records each variant's VRAM and the auto variant; the entry's vramGb is the smallest offered", async () => {
      const w = await world();
      await expect(w.registry.registerModel("model-c", "c0ffee", DIGEST_C, C_VRAM, VARIANT.q4f16))
        .to.emit(w.registry, "ModelRegistered")
        .withArgs(1n, "model-c", "c0ffee", DIGEST_C, C_VRAM, VARIANT.q4f16);
      const c = await w.registry.modelIndexOf("model-c");
      const entry = await w.registry.getModel(c);
      expect(entry.variantVramGb.map(Number)).to.deep.equal(C_VRAM);
      expect(entry.autoVariant).to.equal(BigInt(VARIANT.q4f16));
      expect(entry.vramGb).to.equal(16n);
      const [status, vramGb, servedVramGb] = await w.registry.modelDemand(c);
      expect([status, vramGb, servedVramGb]).to.deep.equal([1n, 16n, 0n]);
    });

    it("createTask refuses a minVramGb below the smallest variant, naming both numbers", async () => {
      const w = await world();
      const c = await registerC(w);
      await w.registry.enableModel(1, c);
      const tm = w.taskManager.connect(w.creator);
      await expect(tm.createTask(ethersLib.id("a"), c, 15, FEE))
        .to.be.revertedWithCustomError(tm, "VramBelowModel")
        .withArgs(c, 15, 16);
      await expect(tm.createTask(ethersLib.id("a"), c, 16, FEE)).to.emit(tm, "TaskCreated");
    });

    it("a group smaller than the biggest variant may enable the model, and draws only the tasks that fit it", async () => {
      const w = await world();
      const c = await registerC(w);
      await w.registry.enableModel(0, c); // 24 GB: fits q4f16 (16), not fp16 (32) or fp32 (64)
      await w.join(w.nodeSigners.slice(0, 3), CARD_4090, 24);
      const tm = w.taskManager.connect(w.creator);
      await expect(tm.createTask(ethersLib.id("fp32"), c, 64, FEE))
        .to.be.revertedWithCustomError(tm, "NoGroupForModel")
        .withArgs(c, 64, 24);
      const q4f16 = await w.create(16, FEE, ethersLib.id("q4f16"), c);
      await w.mineAndDispatch();
      expect((await w.taskManager.getTask(q4f16)).status).to.equal(TaskStatus.Committing);
      expect((await w.taskManager.getTask(q4f16)).groupId).to.equal(0n);
      // Once the H100 group (80 GB) serves it too, a fp32 task is created and drawn there only.
      await w.registry.enableModel(1, c);
      await w.join(w.nodeSigners.slice(3, 6), CARD_H100, 80);
      const fp32 = await w.create(64, FEE, ethersLib.id("fp32 later"), c);
      await w.mineAndDispatch();
      const task = await w.taskManager.getTask(fp32);
      expect(task.status).to.equal(TaskStatus.Committing);
      expect(task.groupId).to.equal(1n);
    });
  });

  describe("createTask", () => {
    it("refuses an unregistered model, a retired one and one no group serves (or with too little VRAM)", async () => {
      const w = await world();
      const tm = w.taskManager.connect(w.creator);
      await expect(tm.createTask(ethersLib.id("a"), 7, 16, FEE))
        .to.be.revertedWithCustomError(tm, "UnknownModel")
        .withArgs(7n);
      await expect(tm.createTask(ethersLib.id("a"), 300, 16, FEE))
        .to.be.revertedWithCustomError(tm, "UnknownModel")
        .withArgs(300n);
      const b = await registerB(w, 40);
      await expect(tm.createTask(ethersLib.id("a"), b, 40, FEE))
        .to.be.revertedWithCustomError(tm, "NoGroupForModel")
        .withArgs(b, 40, 0);
      await w.registry.enableModel(1, b); // H100 / 80 GB, no nodes yet: drawable at once
      expect((await w.registry.getModel(b)).servedVramGb).to.equal(80n);
      await expect(tm.createTask(ethersLib.id("a"), b, 81, FEE))
        .to.be.revertedWithCustomError(tm, "NoGroupForModel")
        .withArgs(b, 81, 80);
      await expect(tm.createTask(ethersLib.id("a"), b, 40, FEE)).to.emit(tm, "TaskCreated");
      await expect(w.registry.retireModel(b)).to.emit(w.registry, "ModelRetirement").withArgs(b);
      await expect(tm.createTask(ethersLib.id("b"), b, 40, FEE))
        .to.be.revertedWithCustomError(tm, "ModelRetired")
        .withArgs(b);
      await expect(w.registry.retireModel(b)).to.be.revertedWithCustomError(w.registry, "ModelIsRetired").withArgs(b);
      await expect(w.registry.enableModel(0, b)).to.be.revertedWithCustomError(w.registry, "ModelIsRetired");
    });

    it("records the model in the task (the receipt binds args hash, registry entry and result)", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId } = await w.started();
      const task = await w.taskManager.getTask(taskId);
      expect(task.model).to.equal(MODEL);
      expect((await w.registry.getModel(task.model)).digest).to.equal(MODEL_DIGEST);
    });

    it("disabling the last group that serves a model, or retiring that group, makes createTask refuse it", async () => {
      const w = await world();
      const b = await registerB(w, 40);
      await w.registry.enableModel(1, b);
      await expect(w.registry.disableModel(1, b)).to.emit(w.registry, "ModelDisabled").withArgs(1n, b);
      expect((await w.registry.getModel(b)).servedVramGb).to.equal(0n);
      await w.registry.enableModel(1, b);
      await w.registry.retireGroup(1);
      expect((await w.registry.getModel(b)).servedVramGb).to.equal(0n);
      expect((await w.registry.getModel(MODEL)).servedVramGb).to.equal(24n);
    });
  });

  describe("selection by model (adversarial)", () => {
    it("a node claiming a model its group does not enable is never drawn into a task for it", async () => {
      const w = await world();
      const b = await registerB(w, 40);
      await w.registry.enableModel(1, b); // only the H100 group serves model B
      // Nine nodes in the 4090 group (which does not enable B) and three in the H100 group.
      await w.join(w.nodeSigners.slice(0, 9), CARD_4090, 24);
      const h100 = w.nodeSigners.slice(9, 12);
      await w.join(h100, CARD_H100, 80);
      const h100Set = new Set(h100.map((n) => n.address));
      for (let round = 0; round < 4; round++) {
        const taskId = await w.create(40, FEE, ethersLib.id(`model-b ${round}`), b);
        await w.mineAndDispatch();
        const task = await w.taskManager.getTask(taskId);
        expect(task.status).to.equal(TaskStatus.Committing);
        expect(task.groupId).to.equal(1n);
        for (const node of task.nodes) expect(h100Set.has(node)).to.equal(true);
        await networkHelpers.time.increase(10_000);
        await w.taskManager.expire(taskId);
      }
      // With the H100 nodes busy, a task for B waits in the queue instead of drawing 4090 nodes.
      const first = await w.create(40, FEE, ethersLib.id("b busy 1"), b);
      await w.mineAndDispatch();
      const waiting = await w.create(40, FEE, ethersLib.id("b busy 2"), b);
      await w.mineAndDispatch();
      expect((await w.taskManager.getTask(first)).status).to.equal(TaskStatus.Committing);
      expect((await w.taskManager.getTask(waiting)).status).to.equal(TaskStatus.Queued);
      expect(await w.registry.availableCount(0)).to.equal(9n);
    });

    it("a model enabled on a group that has nodes is drawable only after the activation delay", async () => {
      const w = await world();
      const b = await registerB(w, 40);
      await w.join(w.nodeSigners.slice(0, 3), CARD_H100, 80);
      const enable = w.registry.enableModel(1, b);
      const delay = await w.registry.MODEL_ACTIVATION_DELAY();
      await expect(enable).to.emit(w.registry, "ModelEnabled");
      const [enabled, pending, activatesAt] = await w.registry.groupModels(1);
      expect(enabled & (1n << b)).to.equal(0n);
      expect(pending).to.equal(1n << b);
      await expect(w.taskManager.connect(w.creator).createTask(ethersLib.id("early"), b, 40, FEE)).to.be.revertedWithCustomError(
        w.taskManager,
        "NoGroupForModel",
      );
      await expect(w.registry.activateModels(1)).to.be.revertedWithCustomError(w.registry, "ModelsNotDue").withArgs(1n, activatesAt);
      await networkHelpers.time.increase(delay);
      await expect(w.registry.connect(w.outsider).activateModels(1))
        .to.emit(w.registry, "ModelsActivated")
        .withArgs(1n, 1n << b);
      await expect(w.registry.activateModels(1)).to.be.revertedWithCustomError(w.registry, "NoPendingModels");
      const taskId = await w.create(40, FEE, ethersLib.id("late"), b);
      await w.mineAndDispatch();
      expect((await w.taskManager.getTask(taskId)).groupId).to.equal(1n);
    });

    it("a retired model's queued task is still drawn from the groups that enable it (no fee lost)", async () => {
      const w = await world();
      const taskId = await w.create(16);
      await w.registry.retireModel(MODEL);
      await w.join(w.nodeSigners.slice(0, 3));
      await w.mineAndDispatch();
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Committing);
    });
  });
});
