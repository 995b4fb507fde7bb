import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { CARD_4090, CARD_H100, NodeStatus, RESULT_A, TaskStatus, networkHelpers, world, type World } from "./fixture.js";

const CARD_A100 = "NVIDIA A100-SXM4-40GB";

/** Runs a started task to success with three honest nodes. */
async function finish(w: World, taskId: bigint) {
  const task = await w.taskManager.getTask(taskId);
  const nodes = task.nodes.map(w.signerOf);
  const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
  await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A], seals);
}

describe("Selection and queue", () => {
  it("always picks three distinct nodes of one group with enough VRAM, and over many tasks every eligible node", async () => {
    const w = await world();
    const n = w.nodeSigners;
    const rtx = n.slice(0, 5);
    const h100 = n.slice(5, 9);
    const a100 = n.slice(9, 11); // only two: never a complete group
    await w.join(rtx, CARD_4090, 24);
    await w.join(h100, CARD_H100, 80);
    await w.join(a100, CARD_A100, 40);
    const rtxGroup = await w.registry.groupIdOf(CARD_4090, 24);
    const h100Group = await w.registry.groupIdOf(CARD_H100, 80);
    const groupOf = new Map<string, bigint>();
    for (const s of rtx) groupOf.set(s.address, rtxGroup);
    for (const s of h100) groupOf.set(s.address, h100Group);

    const picked = new Map<string, number>();
    const groupsSeen = new Set<bigint>();
    for (let i = 0; i < 40; i++) {
      const minVram = i % 4 === 0 ? 48 : 16;
      const { taskId, nodes } = await w.started(minVram);
      const task = await w.taskManager.getTask(taskId);
      const addresses = nodes.map((s) => s.address);
      expect(new Set(addresses).size).to.equal(3);
      for (const address of addresses) {
        expect(groupOf.get(address), `node ${address} of task ${taskId}`).to.equal(task.groupId);
        picked.set(address, (picked.get(address) ?? 0) + 1);
      }
      if (minVram === 48) expect(task.groupId).to.equal(h100Group);
      groupsSeen.add(task.groupId);
      await finish(w, taskId);
    }
    expect(groupsSeen).to.deep.equal(new Set([rtxGroup, h100Group]));
    for (const node of [...rtx, ...h100]) expect(picked.get(node.address) ?? 0, node.address).to.be.greaterThan(0);
    for (const node of a100) expect(picked.has(node.address)).to.equal(false);
  });

  it("reports the group of the drawn nodes once started (none while queued), across several groups", async () => {
    const w = await world();
    await w.join(w.nodeSigners.slice(0, 3), CARD_4090, 24);
    await w.join(w.nodeSigners.slice(3, 6), CARD_H100, 80);
    const queued = await w.create(80);
    expect((await w.taskManager.getTask(queued)).groupId).to.equal(0n);
    await w.mineAndDispatch();
    const task = await w.taskManager.getTask(queued);
    expect(task.groupId).to.equal(await w.registry.groupIdOf(CARD_H100, 80));
    const started = await w.taskManager.queryFilter(w.taskManager.filters.TaskStarted(queued));
    expect(started[0]!.args.groupId).to.equal(task.groupId);
  });

  it("a task waits while too few nodes are free and starts when a node joins", async () => {
    const w = await world();
    await w.join(w.nodeSigners.slice(0, 2));
    const taskId = await w.create();
    await w.mineAndDispatch();
    expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Queued);
    await w.join(w.nodeSigners.slice(2, 3));
    await w.taskManager.dispatch(1);
    expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Committing);
  });

  it("a task needing more VRAM than any group has stays queued and does not block later tasks", async () => {
    const w = await world();
    await w.join(w.nodeSigners.slice(0, 3), CARD_4090, 24);
    const big = await w.create(80);
    const small = await w.create(16);
    await w.mineAndDispatch();
    expect((await w.taskManager.getTask(big)).status).to.equal(TaskStatus.Queued);
    expect((await w.taskManager.getTask(small)).status).to.equal(TaskStatus.Committing);
    expect(await w.taskManager.queuedTaskIds()).to.deep.equal([big]);
  });

  it("dispatches queued tasks first-come first-served when nodes free up, inside the settling reveal", async () => {
    const w = await world();
    await w.join(w.nodeSigners.slice(0, 3));
    const { taskId: running } = await w.started();
    const second = await w.create();
    const third = await w.create();
    await networkHelpers.mine(1);
    await w.taskManager.dispatch(8);
    expect(await w.taskManager.queuedTaskIds()).to.deep.equal([second, third]);

    // The last reveal of the running task frees the three nodes and starts the oldest queued task.
    await finish(w, running);
    expect((await w.taskManager.getTask(second)).status).to.equal(TaskStatus.Committing);
    expect((await w.taskManager.getTask(third)).status).to.equal(TaskStatus.Queued);
    await finish(w, second);
    expect((await w.taskManager.getTask(third)).status).to.equal(TaskStatus.Committing);
  });

  it("the freed nodes are drawn at random, not the freeing node plus the first of its group", async () => {
    const w = await world();
    const all = w.nodeSigners.slice(0, 6);
    await w.join(all);
    const picks = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const { taskId } = await w.started();
      // Keep three nodes busy so the queued task competes for a pool of three or more.
      const queued = await w.create();
      await networkHelpers.mine(1);
      await finish(w, taskId);
      const task = await w.taskManager.getTask(queued);
      if (task.status === TaskStatus.Queued) await w.taskManager.dispatch(4);
      const started = await w.taskManager.getTask(queued);
      expect(started.status).to.equal(TaskStatus.Committing);
      for (const node of started.nodes) picks.add(node);
      await finish(w, queued);
    }
    expect(picks.size).to.be.greaterThan(3);
  });

  it("re-arms randomness that went stale (more than 256 blocks) and then dispatches", async () => {
    const w = await world();
    const taskId = await w.create();
    const oldRequest = await w.taskManager.requestIdOf(taskId);
    await networkHelpers.mine(300);
    expect(await w.randomness.isStale(oldRequest)).to.equal(true);
    await w.join(w.nodeSigners.slice(0, 3));
    await expect(w.taskManager.dispatch(4)).to.emit(w.taskManager, "RandomnessRequested");
    const newRequest = await w.taskManager.requestIdOf(taskId);
    expect(newRequest).to.not.equal(oldRequest);
    expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Queued);
    await w.mineAndDispatch();
    expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Committing);
  });

  it("a node is never in two tasks: busy nodes are not drawn again", async () => {
    const w = await world();
    await w.join(w.nodeSigners.slice(0, 5));
    const { nodes } = await w.started();
    const next = await w.create();
    await w.mineAndDispatch();
    expect((await w.taskManager.getTask(next)).status).to.equal(TaskStatus.Queued);
    for (const node of nodes) {
      const info = await w.registry.getNode(node.address);
      expect(info.status).to.equal(NodeStatus.Busy);
    }
  });

  it("drawing from a large group keeps every survivor's position consistent (each can still pause and resume)", async () => {
    const w = await world();
    const members = w.nodeSigners.slice(0, 9);
    await w.join(members);
    const groupId = await w.registry.groupIdOf(CARD_4090, 24);
    const { nodes } = await w.started();
    const drawn = new Set(nodes.map((n) => n.address));
    const survivors = members.filter((m) => !drawn.has(m.address));
    expect([...(await w.registry.availableNodes(groupId))].sort()).to.deep.equal(survivors.map((s) => s.address).sort());
    for (const node of survivors) await w.registry.connect(node).pause();
    expect(await w.registry.availableNodes(groupId)).to.deep.equal([]);
    for (const node of survivors) await w.registry.connect(node).resume();
    expect([...(await w.registry.availableNodes(groupId))].sort()).to.deep.equal(survivors.map((s) => s.address).sort());
  });

  it("a head task no free group can serve does not use up the dispatch budget: dispatch(1) starts the task behind it", async () => {
    const w = await world();
    const big = await w.create(80);
    const small = await w.create(16);
    await w.join(w.nodeSigners.slice(0, 3));
    await networkHelpers.mine(1);
    await w.taskManager.dispatch(1);
    expect((await w.taskManager.getTask(small)).status).to.equal(TaskStatus.Committing);
    expect((await w.taskManager.getTask(big)).status).to.equal(TaskStatus.Queued);
  });
});

describe("BlockhashRandomness", () => {
  it("is ready only after its target block, stale after 256 more, and bound to the target block's hash", async () => {
    const w = await world();
    const source = w.randomness;
    const receipt = await (await source.request(0)).wait();
    const requestId = source.interface.parseLog(receipt!.logs[0])!.args.requestId as bigint;
    const target = await source.targetBlockOf(requestId);
    expect(target).to.equal(BigInt(receipt!.blockNumber + 1));
    expect(await source.isReady(requestId)).to.equal(false);
    await expect(source.randomness(requestId)).to.be.revertedWithCustomError(source, "RandomnessNotReady").withArgs(requestId);
    await networkHelpers.mine(1);
    expect(await source.isReady(requestId)).to.equal(false);
    await networkHelpers.mine(1);
    expect(await source.isReady(requestId)).to.equal(true);
    const block = await w.connectionEthers.provider.getBlock(Number(target));
    const expected = ethersLib.keccak256(ethersLib.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [block!.hash, requestId]));
    expect(await source.randomness(requestId)).to.equal(BigInt(expected));
    await networkHelpers.mine(256);
    expect(await source.isReady(requestId)).to.equal(false);
    expect(await source.isStale(requestId)).to.equal(true);
    await expect(source.randomness(0n)).to.be.revertedWithCustomError(source, "UnknownRequest").withArgs(0n);
  });
});
