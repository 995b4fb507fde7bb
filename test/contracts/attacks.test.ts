/**
 * Adversarial tests: each plays one attack of issue 11 against the contracts and asserts the safe outcome.
 */
import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import {
  AbortReason,
  CARD_4090,
  COMMIT_WINDOW,
  FEE,
  MAX_QUEUE,
  MIN_FEE,
  MODEL,
  NodeStatus,
  QUEUE_WINDOW,
  RESULT_A,
  RESULT_B,
  REVEAL_WINDOW,
  STAKE,
  TaskStatus,
  networkHelpers,
  vrfWorld,
  world,
  type World,
} from "./fixture.js";
import { VrfRandomness__factory } from "../../typechain-types/index.js";

async function stakeOf(w: World, address: string) {
  return (await w.registry.getNode(address)).stake;
}

describe("Attacks (issue 11)", () => {
  describe("1. self-declared groups", () => {
    it("a Sybil cannot create a group, join a made-up one or fill the group table; only governance adds groups", async () => {
      const w = await world();
      const [sybil] = w.nodeSigners;
      await expect(w.registry.connect(sybil).addGroup("my own card", 4096)).to.be.revertedWithCustomError(
        w.registry,
        "AccessControlUnauthorizedAccount",
      );
      await expect(w.registry.connect(sybil).join(63)).to.be.revertedWithCustomError(w.registry, "UnknownGroup").withArgs(63n);
      expect(await w.registry.groupCount()).to.equal(2n);
      // A demand above every governed group is refused at creation: no private huge-VRAM group can serve it.
      await expect(w.taskManager.connect(w.creator).createTask(ethersLib.id("x"), MODEL, 4096, FEE))
        .to.be.revertedWithCustomError(w.taskManager, "NoGroupForModel")
        .withArgs(MODEL, 4096, 80);
    });

    it("three Sybils joining a real group share it with honest nodes and are drawn at random among them", async () => {
      const w = await world();
      const sybils = w.nodeSigners.slice(0, 3);
      const honest = w.nodeSigners.slice(3, 12);
      await w.join(sybils);
      await w.join(honest);
      let allThree = 0;
      for (let round = 0; round < 12; round++) {
        const { taskId, nodes } = await w.started();
        if (nodes.every((n) => sybils.includes(n))) allThree++;
        const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
        await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A], seals);
      }
      // 3 of 12 nodes: all three seats with probability 1/220 per task.
      expect(allThree).to.be.lessThan(2);
    });

    it("a retired group gets no new nodes or tasks, and its nodes leave with their stakes", async () => {
      const w = await world();
      const [a, b, c, d] = w.nodeSigners;
      await w.join([a, b, c], CARD_4090, 24);
      await expect(w.registry.retireGroup(0)).to.emit(w.registry, "GroupRetirement").withArgs(0n);
      await expect(w.registry.connect(d).join(0)).to.be.revertedWithCustomError(w.registry, "GroupRetired").withArgs(0n);
      const taskId = await w.create(16); // the H100 group (80 GB) can still serve it
      await w.mineAndDispatch();
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Queued);
      await expect(w.registry.connect(a).quit()).to.emit(w.registry, "NodeQuit").withArgs(a.address, STAKE);
      await w.registry.retireGroup(1);
      await expect(w.taskManager.connect(w.creator).createTask(ethersLib.id("y"), MODEL, 16, FEE))
        .to.be.revertedWithCustomError(w.taskManager, "NoGroupForModel")
        .withArgs(MODEL, 16, 0);
    });
  });

  describe("2 and 4. steering after the seed is known, block-hash grinding (VRF)", () => {
    it("the random word is drawn in the transaction that delivers it: no block sees the word before the draw", async () => {
      const w = await vrfWorld();
      await w.join(w.nodeSigners.slice(0, 6));
      const taskId = await w.create();
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Queued);
      expect(await w.taskManager.requestIdOf(taskId)).to.equal(1n); // pending, no word on chain
      const [receipt] = await w.fulfil([12345n]);
      const started = receipt!.logs
        .map((l) => {
          try {
            return w.taskManager.interface.parseLog(l);
          } catch {
            return null;
          }
        })
        .find((p) => p?.name === "TaskStarted");
      expect(started?.args.taskId).to.equal(taskId);
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Committing);
    });

    it("the draw depends only on the VRF word, not on the block it lands in: a block producer has nothing to grind", async () => {
      const w = await vrfWorld();
      await w.join(w.nodeSigners.slice(0, 9));
      const taskId = await w.create();
      const snapshot = await networkHelpers.takeSnapshot();
      await w.fulfil([777n]);
      const first = (await w.taskManager.getTask(taskId)).nodes;
      await snapshot.restore();
      await networkHelpers.mine(5);
      await networkHelpers.time.increase(7);
      await w.fulfil([777n]);
      expect((await w.taskManager.getTask(taskId)).nodes).to.deep.equal(first);
    });

    it("a word that finds no free nodes is discarded, never used later: the draw waits for a fresh word", async () => {
      const w = await vrfWorld();
      await w.join(w.nodeSigners.slice(0, 2));
      const taskId = await w.create();
      const [receipt] = await w.fulfil([42n]);
      const names = receipt!.logs.map((l) => {
        try {
          return w.taskManager.interface.parseLog(l)?.name;
        } catch {
          return undefined;
        }
      });
      expect(names).to.include("RandomnessDiscarded");
      expect(await w.taskManager.requestIdOf(taskId)).to.equal(0n);
      // The attacker knows the old word and now adds its nodes: nothing happens until a new request is fulfilled.
      await w.join(w.nodeSigners.slice(2, 6));
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Queued);
      await expect(w.taskManager.dispatch(4)).to.emit(w.taskManager, "RandomnessRequested");
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Queued);
      await w.fulfil();
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Committing);
    });

    it("a delivery that cannot be used never reverts the coordinator's fulfilment", async () => {
      const w = await vrfWorld();
      await w.join(w.nodeSigners.slice(0, 3));
      const taskId = await w.create();
      await networkHelpers.time.increase(QUEUE_WINDOW + 1); // expired while the word was pending
      const [receipt] = await w.fulfil();
      expect(receipt!.status).to.equal(1);
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Queued);
      await expect(w.taskManager.connect(w.outsider).onRandomness(taskId, 1n))
        .to.be.revertedWithCustomError(w.taskManager, "NotRandomnessSource")
        .withArgs(w.outsider.address);
    });
  });

  describe("3. free re-rolls by the creator", () => {
    it("block hash: once the word is readable the creator cannot cancel (and cancelling earlier costs 10 %)", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 2)); // too few nodes: the task waits with its word readable
      const taskId = await w.create();
      await networkHelpers.mine(1);
      await expect(w.taskManager.connect(w.creator).cancel(taskId))
        .to.be.revertedWithCustomError(w.taskManager, "RandomnessPending")
        .withArgs(taskId);
    });

    it("VRF: no cancel while the word is pending; after a discarded word cancelling forfeits 10 % to the treasury", async () => {
      const w = await vrfWorld();
      const taskId = await w.create();
      await expect(w.taskManager.connect(w.creator).cancel(taskId))
        .to.be.revertedWithCustomError(w.taskManager, "RandomnessPending")
        .withArgs(taskId);
      await w.fulfil(); // no nodes: discarded
      await expect(w.taskManager.connect(w.creator).cancel(taskId)).to.changeTokenBalances(
        w.connectionEthers,
        w.token,
        [w.creator, w.treasury],
        [FEE - FEE / 10n, FEE / 10n],
      );
    });
  });

  describe("5. two commits and one silent node", () => {
    it("one liar and one late honest node: NoMajority, and neither honest node loses stake", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const [honest, liar, late] = nodes;
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_B, undefined]);
      await networkHelpers.time.increase(COMMIT_WINDOW + 1);
      await expect(w.taskManager.expire(taskId)).to.not.emit(w.registry, "NodeSlashed");
      await w.taskManager.connect(honest).reveal(taskId, RESULT_A, seals[0]!.salt);
      const last = w.taskManager.connect(liar).reveal(taskId, RESULT_B, seals[1]!.salt);
      await expect(last).to.emit(w.taskManager, "TaskAborted").withArgs(taskId, AbortReason.NoMajority);
      await expect(last).to.not.emit(w.registry, "NodeSlashed");
      expect(await stakeOf(w, honest.address)).to.equal(STAKE);
      expect(await stakeOf(w, late.address)).to.equal(STAKE);
      expect((await w.registry.getNode(late.address)).status).to.equal(NodeStatus.Available);
    });
  });

  describe("6. duplicate-commitment front-running", () => {
    it("a co-selected node that copies the honest commitment first cannot block it, and the copier is slashed", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const [honest, copier, other] = nodes;
      const seal = await w.sealFor(taskId, honest, RESULT_A);
      await w.taskManager.connect(copier).commit(taskId, seal.commitment); // front-runs the honest commit
      await expect(w.taskManager.connect(honest).commit(taskId, seal.commitment)).to.emit(w.taskManager, "TaskCommitted");
      const otherSeal = await w.sealFor(taskId, other, RESULT_A);
      await w.taskManager.connect(other).commit(taskId, otherSeal.commitment);
      await expect(w.taskManager.connect(copier).reveal(taskId, RESULT_A, seal.salt)).to.be.revertedWithCustomError(
        w.taskManager,
        "InvalidReveal",
      );
      await w.taskManager.connect(honest).reveal(taskId, RESULT_A, seal.salt);
      await w.taskManager.connect(other).reveal(taskId, RESULT_A, otherSeal.salt);
      await networkHelpers.time.increase(COMMIT_WINDOW + 1);
      const settle = w.taskManager.expire(taskId);
      await expect(settle).to.emit(w.registry, "NodeSlashed").withArgs(copier.address, taskId, STAKE);
      await expect(settle).to.emit(w.taskManager, "TaskSucceeded").withArgs(taskId, RESULT_A);
    });
  });

  describe("7. jamming the queue", () => {
    it("expired tasks at the head neither block nor use the dispatch budget; each cost its creator 10 %", async () => {
      const w = await world();
      const jam = [];
      for (let i = 0; i < MAX_QUEUE - 1; i++) jam.push(await w.create(80)); // servable in principle, no H100 nodes
      await networkHelpers.time.increase(QUEUE_WINDOW + 1);
      await w.join(w.nodeSigners.slice(0, 3));
      const treasuryBefore = await w.token.balanceOf(w.treasury.address);
      const honest = await w.create(16); // createTask's own scan expires part of the jam; dispatch the rest
      await networkHelpers.mine(1);
      await w.taskManager.dispatch(1);
      expect((await w.taskManager.getTask(honest)).status).to.equal(TaskStatus.Committing);
      for (const id of jam) expect((await w.taskManager.getTask(id)).abortReason).to.equal(AbortReason.QueueTimeout);
      expect((await w.token.balanceOf(w.treasury.address)) - treasuryBefore).to.equal((BigInt(jam.length) * FEE) / 10n);
    });

    it("an unservable demand is refused at creation, so it can never take a queue slot", async () => {
      const w = await world();
      await expect(w.taskManager.connect(w.creator).createTask(ethersLib.id("z"), MODEL, 81, FEE))
        .to.be.revertedWithCustomError(w.taskManager, "NoGroupForModel")
        .withArgs(MODEL, 81, 80);
      expect(await w.taskManager.queueLength()).to.equal(0n);
    });
  });

  describe("8. admin powers", () => {
    it("no role can draw or slash nodes: the task manager is fixed and only it can release nodes of its own task", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const three = w.nodeSigners.slice(0, 3).map((n) => n.address) as [string, string, string];
      expect(w.registry.interface.getFunction("grantRole")).to.not.equal(null);
      await w.registry.grantRole(ethersLib.id("TASK_MANAGER_ROLE"), w.admin.address); // a role that gates nothing
      await expect(w.registry.drawNodes(0, 16, 1, 99)).to.be.revertedWithCustomError(w.registry, "NotTaskManager");
      await expect(w.registry.releaseNodes(three, 7, 7, 0, 10_000)).to.be.revertedWithCustomError(w.registry, "NotTaskManager");
      expect(ethersLib.Interface.from(w.registry.interface.fragments).getFunction("setTaskManager")).to.equal(null);
      expect(ethersLib.Interface.from(w.taskManager.interface.fragments).getFunction("setRandomnessSource")).to.equal(null);
      for (const node of three) expect(await stakeOf(w, node)).to.equal(STAKE);
    });

    it("fee split and slash ratio are fixed into the task: changing them mid-task changes nothing it pays", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_B]);
      await w.taskManager.setNodeShareBps(0);
      await w.taskManager.setSlashBps(1);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      const last = w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_B, seals[2]!.salt);
      const share = (FEE * 9_500n) / 10_000n / 2n;
      await expect(last).to.emit(w.taskManager, "NodePaid").withArgs(taskId, nodes[0].address, share);
      await expect(last).to.emit(w.registry, "NodeSlashed").withArgs(nodes[2].address, taskId, STAKE);
    });
  });

  describe("9. a randomness source that refuses requests (VRF subscription changed, coordinator reconfigured)", () => {
    it("settling a running task never depends on the source: the auto-dispatch's failed request is caught and reported", async () => {
      const w = await vrfWorld();
      await w.join(w.nodeSigners.slice(0, 3));
      const running = await w.create();
      await w.fulfil();
      const nodes = (await w.taskManager.getTask(running)).nodes.map(w.signerOf);
      const waiting = await w.create();
      await w.fulfil(); // no free nodes: discarded; the next dispatch with free nodes requests again
      expect(await w.taskManager.requestIdOf(waiting)).to.equal(0n);
      // The subscription owner drops the adapter (allowed: no request is pending): every request now reverts.
      const adapter = VrfRandomness__factory.connect(w.deployment.randomness, w.admin);
      await w.vrf!.removeConsumer(await adapter.subscriptionId(), w.deployment.randomness);
      const seals = await w.commitAll(running, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.taskManager.connect(nodes[0]).reveal(running, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(running, RESULT_A, seals[1]!.salt);
      const last = w.taskManager.connect(nodes[2]).reveal(running, RESULT_A, seals[2]!.salt);
      await expect(last).to.emit(w.taskManager, "TaskSucceeded").withArgs(running, RESULT_A);
      await expect(last).to.emit(w.taskManager, "RandomnessRequestFailed");
      for (const node of nodes) expect(await stakeOf(w, node.address)).to.equal(STAKE);
      // The waiting task is still queued without a pending word: its creator may cancel it, or anyone expire it.
      expect(await w.taskManager.requestIdOf(waiting)).to.equal(0n);
      // An explicit dispatch names the source's refusal (so a worker's simulation sends nothing that does nothing).
      await expect(w.taskManager.dispatch(4)).to.be.revertedWithCustomError(w.vrf!, "InvalidConsumer");
      await networkHelpers.time.increase(QUEUE_WINDOW + 1);
      await expect(w.taskManager.expire(waiting)).to.emit(w.taskManager, "TaskAborted").withArgs(waiting, AbortReason.QueueTimeout);
    });
  });

  describe("9b. a gas limit that starves the randomness request inside a settlement", () => {
    /** A running task whose reveal deadline passed (one node withheld) and a waiting task whose word was discarded. */
    async function settlementWithARequest() {
      const w = await vrfWorld();
      await w.join(w.nodeSigners.slice(0, 4)); // the withholder is slashed: three remain for the waiting task
      const running = await w.create();
      await w.fulfil([1n]);
      const nodes = (await w.taskManager.getTask(running)).nodes.map(w.signerOf);
      const waiting = await w.create();
      await w.fulfil(); // one free node: discarded; the settlement's dispatch requests again
      const seals = await w.commitAll(running, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.revealAll(running, nodes, [RESULT_A, RESULT_A, undefined], seals);
      await networkHelpers.time.increase(REVEAL_WINDOW + 1);
      return { w, running, waiting };
    }

    it("the cheapest gas limit at which anyone's expire settles the task also makes the request (never a caught starvation)", async () => {
      const { w, running, waiting } = await settlementWithARequest();
      const estimate = await w.taskManager.expire.estimateGas(running);
      let settled: ethersLib.TransactionReceipt | null = null;
      for (let gasLimit = 150_000n; settled === null && gasLimit < estimate + 1_000n; gasLimit += 1_000n) {
        settled = await w.taskManager
          .connect(w.outsider)
          .expire(running, { gasLimit })
          .then((tx) => tx.wait())
          .catch(() => null); // too little gas: the whole transaction reverted, nothing changed
      }
      expect(settled, "no gas limit up to the estimate settled the task").to.not.equal(null);
      const names = settled!.logs.map((l) => {
        try {
          return w.taskManager.interface.parseLog(l)?.name;
        } catch {
          return undefined;
        }
      });
      expect(names).to.include("TaskSucceeded");
      expect(names).to.include("RandomnessRequested");
      expect(names).to.not.include("RandomnessRequestFailed");
      expect(await w.taskManager.requestIdOf(waiting)).to.equal(1n);
    });

    it("a settlement sent with its own gas estimate makes the request", async () => {
      const { w, running, waiting } = await settlementWithARequest();
      const estimate = await w.taskManager.expire.estimateGas(running);
      await expect(w.taskManager.expire(running, { gasLimit: estimate })).to.emit(w.taskManager, "RandomnessRequested");
      expect(await w.taskManager.requestIdOf(waiting)).to.equal(1n);
    });
  });

  describe("10. governance racing a task (model registry)", () => {
    it("disabling the model of a queued task: it is never drawn from that group, and its creator forfeits nothing", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 2)); // too few nodes: the task waits
      const taskId = await w.create();
      await w.registry.disableModel(0, MODEL);
      await w.registry.disableModel(1, MODEL);
      await w.join(w.nodeSigners.slice(2, 5));
      await w.mineAndDispatch();
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Queued);
      await networkHelpers.time.increase(QUEUE_WINDOW + 1);
      const expired = w.taskManager.expire(taskId);
      await expect(expired).to.changeTokenBalances(w.connectionEthers, w.token, [w.creator, w.treasury], [FEE, 0n]);
      await expect(expired).to.not.emit(w.taskManager, "FeeForfeited");
    });

    it("retiring the only group of a queued task: the creator cancels it for its whole fee", async () => {
      const w = await world();
      await w.registry.disableModel(1, MODEL); // only the RTX 4090 group serves the model
      const taskId = await w.create();
      await w.registry.retireGroup(0);
      await expect(w.taskManager.connect(w.creator).cancel(taskId)).to.changeTokenBalances(
        w.connectionEthers,
        w.token,
        [w.creator, w.treasury],
        [FEE, 0n],
      );
    });

    it("a queued task whose model is still served but finds no nodes still forfeits 10 % (no free queue slot)", async () => {
      const w = await world();
      const taskId = await w.create();
      await networkHelpers.time.increase(QUEUE_WINDOW + 1);
      await expect(w.taskManager.expire(taskId))
        .to.emit(w.taskManager, "FeeForfeited")
        .withArgs(taskId, FEE / 10n);
    });
  });

  describe("11. exit timing and slashing", () => {
    it("a liar that quits once drawn still loses its stake: quit while busy only schedules the exit", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const liar = nodes[2];
      await w.registry.connect(liar).quit();
      expect((await w.registry.getNode(liar.address)).status).to.equal(NodeStatus.PendingQuit);
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_B]);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      const last = w.taskManager.connect(liar).reveal(taskId, RESULT_B, seals[2]!.salt);
      await expect(last).to.emit(w.registry, "NodeSlashed").withArgs(liar.address, taskId, STAKE);
      await expect(last).to.changeTokenBalances(
        w.connectionEthers,
        w.token,
        [liar, w.treasury],
        [0n, STAKE + FEE - (FEE * 9_500n) / 10_000n],
      );
      await expect(last).to.not.emit(w.registry, "NodeQuit");
    });

    it("a liar kicked by a colluding governance mid-task is still slashed: kick never rescues a stake from its task", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const liar = nodes[0];
      await w.registry.kick(liar.address);
      const seals = await w.commitAll(taskId, nodes, [RESULT_B, RESULT_A, RESULT_A]);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      await w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_A, seals[2]!.salt);
      await networkHelpers.time.increase(REVEAL_WINDOW + 1); // the liar withholds its reveal
      const settle = w.taskManager.expire(taskId);
      await expect(settle).to.emit(w.registry, "NodeSlashed").withArgs(liar.address, taskId, STAKE);
      await expect(settle).to.not.emit(w.registry, "NodeKicked");
      expect((await w.registry.getNode(liar.address)).status).to.equal(NodeStatus.None);
    });

    it("a liar that sees the honest reveals and then withholds its own is slashed at the reveal deadline", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_B]);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      await networkHelpers.time.increase(REVEAL_WINDOW + 1);
      await expect(w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_A, seals[2]!.salt)).to.be.revertedWithCustomError(
        w.taskManager,
        "DeadlinePassed",
      );
      const settle = w.taskManager.expire(taskId);
      await expect(settle).to.emit(w.taskManager, "TaskSucceeded").withArgs(taskId, RESULT_A);
      await expect(settle).to.emit(w.registry, "NodeSlashed").withArgs(nodes[2].address, taskId, STAKE);
    });

    it("a slashed node that rejoins pays a fresh stake: leaving and rejoining undoes no slash", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const liar = nodes[1];
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_B, RESULT_A]);
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_B, RESULT_A], seals);
      const before = await w.token.balanceOf(liar.address);
      await w.registry.connect(liar).join(0);
      expect(await w.token.balanceOf(liar.address)).to.equal(before - STAKE);
      expect(await stakeOf(w, liar.address)).to.equal(STAKE);
      expect(await w.registry.totalStaked()).to.equal(STAKE * 3n);
    });

    it("an honest node that pauses or quits during the reveal phase is still paid, then leaves with its whole stake", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.registry.connect(nodes[0]).pause();
      await w.registry.connect(nodes[1]).quit();
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      const last = w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_A, seals[2]!.salt);
      const share = (FEE * 9_500n) / 10_000n / 3n;
      await expect(last).to.changeTokenBalances(w.connectionEthers, w.token, [nodes[0], nodes[1]], [share, share + STAKE]);
      await expect(last).to.not.emit(w.registry, "NodeSlashed");
      expect((await w.registry.getNode(nodes[0].address)).status).to.equal(NodeStatus.Paused);
      expect((await w.registry.getNode(nodes[1].address)).status).to.equal(NodeStatus.None);
    });
  });

  describe("12. VRF deliveries late, twice, for a cancelled task, and with the group table full", () => {
    async function asAdapter(w: World) {
      await networkHelpers.impersonateAccount(w.deployment.randomness);
      await networkHelpers.setBalance(w.deployment.randomness, ethersLib.parseEther("1"));
      return w.taskManager.connect(await w.connectionEthers.getImpersonatedSigner(w.deployment.randomness));
    }

    it("a second word for a started task changes nothing: its nodes stay the ones the first word drew", async () => {
      const w = await vrfWorld();
      await w.join(w.nodeSigners.slice(0, 9));
      const taskId = await w.create();
      await w.fulfil([1n]);
      const drawn = (await w.taskManager.getTask(taskId)).nodes;
      const replay = (await asAdapter(w)).onRandomness(taskId, 2n);
      await expect(replay).to.not.emit(w.taskManager, "TaskStarted");
      await expect(replay).to.not.emit(w.taskManager, "RandomnessDiscarded");
      expect((await w.taskManager.getTask(taskId)).nodes).to.deep.equal(drawn);
      expect(await w.registry.availableCount(0)).to.equal(6n);
    });

    it("the adapter forwards each request's word once: a replayed fulfilment of the same request is dropped", async () => {
      const w = await vrfWorld();
      await w.join(w.nodeSigners.slice(0, 3));
      const taskId = await w.create();
      const [request] = await w.vrf!.queryFilter(w.vrf!.filters.RandomWordsRequested());
      const requestId = request!.args.requestId;
      await networkHelpers.impersonateAccount(w.deployment.vrfCoordinator!);
      await networkHelpers.setBalance(w.deployment.vrfCoordinator!, ethersLib.parseEther("1"));
      const coordinator = await w.connectionEthers.getImpersonatedSigner(w.deployment.vrfCoordinator!);
      const adapter = VrfRandomness__factory.connect(w.deployment.randomness, coordinator);
      await expect(adapter.rawFulfillRandomWords(requestId, [5n]))
        .to.emit(adapter, "VrfDelivered")
        .withArgs(requestId, taskId);
      await expect(adapter.rawFulfillRandomWords(requestId, [6n])).to.not.emit(adapter, "VrfDelivered");
      expect(await adapter.pendingTask(requestId)).to.deep.equal([false, 0n]);
    });

    it("a word for a cancelled, an expired or an unknown task is ignored without reverting", async () => {
      const w = await vrfWorld();
      const cancelled = await w.create();
      await w.fulfil(); // no nodes: discarded, so the creator may cancel
      await w.taskManager.connect(w.creator).cancel(cancelled);
      const expired = await w.create();
      await networkHelpers.time.increase(QUEUE_WINDOW + 1);
      await w.taskManager.expire(expired);
      await w.join(w.nodeSigners.slice(0, 3));
      const adapter = await asAdapter(w);
      for (const taskId of [cancelled, expired, 999n]) {
        await expect(adapter.onRandomness(taskId, 7n)).to.not.emit(w.taskManager, "TaskStarted");
      }
      expect((await w.taskManager.getTask(cancelled)).status).to.equal(TaskStatus.Aborted);
      expect((await w.taskManager.getTask(expired)).status).to.equal(TaskStatus.Aborted);
      expect(await w.registry.availableCount(0)).to.equal(3n);
    });

    it("with all 64 groups enabling the model, the draw in the fulfilment fits its callback gas", async () => {
      const w = await vrfWorld();
      for (let i = 2; i < 64; i++) {
        await w.registry.addGroup(`card ${i}`, 24);
        await w.registry.enableModel(i, MODEL);
      }
      await w.join(w.nodeSigners.slice(0, 3), "card 63", 24); // only the last group scanned has nodes
      const taskId = await w.create();
      const adapter = VrfRandomness__factory.connect(w.deployment.randomness, w.admin);
      const [receipt] = await w.fulfil();
      const delivered = receipt!.logs.filter((l) => l.address === w.deployment.randomness).map((l) => adapter.interface.parseLog(l)?.name);
      expect(delivered).to.deep.equal(["VrfDelivered"]);
      expect((await w.taskManager.getTask(taskId)).groupId).to.equal(63n);
      expect(receipt!.gasUsed).to.be.lessThan(await adapter.callbackGasLimit());
    });
  });

  describe("13. rounding and extreme fees", () => {
    it("fee-split dust goes to the treasury: nothing stays in escrow and nothing is created", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const fee = MIN_FEE + 7n; // 95 % of it does not divide by three
      const taskId = await w.create(16, fee);
      await w.mineAndDispatch();
      const nodes = (await w.taskManager.getTask(taskId)).nodes.map(w.signerOf);
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      const treasuryBefore = await w.token.balanceOf(w.treasury.address);
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A], seals);
      const share = (fee * 9_500n) / 10_000n / 3n;
      expect((await w.token.balanceOf(w.treasury.address)) - treasuryBefore).to.equal(fee - 3n * share);
      expect(await w.token.balanceOf(w.deployment.taskManager)).to.equal(0n);
      expect(await w.taskManager.totalEscrow()).to.equal(0n);
    });

    it("zero-fee tasks (minFee 0) settle, cancel and expire: no zero-amount transfer reverts", async () => {
      const w = await world();
      await w.taskManager.setMinFee(0);
      const cancelled = await w.create(16, 0n);
      await expect(w.taskManager.connect(w.creator).cancel(cancelled)).to.emit(w.taskManager, "TaskAborted");
      await w.join(w.nodeSigners.slice(0, 3));
      const taskId = await w.create(16, 0n);
      await w.mineAndDispatch();
      const nodes = (await w.taskManager.getTask(taskId)).nodes.map(w.signerOf);
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A], seals);
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Succeeded);
      const queued = await w.create(80, 0n); // no H100 nodes: waits, then expires
      await networkHelpers.time.increase(QUEUE_WINDOW + 1);
      await expect(w.taskManager.expire(queued)).to.emit(w.taskManager, "TaskAborted").withArgs(queued, AbortReason.QueueTimeout);
    });

    it("the largest fee (2^96 - 1) is escrowed and split without overflow; a larger one is refused by name", async () => {
      const w = await world();
      const maxFee = 2n ** 96n - 1n;
      await w.token.mint(w.creator.address, maxFee + 1n);
      await expect(w.taskManager.connect(w.creator).createTask(ethersLib.id("big"), MODEL, 16, maxFee + 1n))
        .to.be.revertedWithCustomError(w.taskManager, "FeeTooHigh")
        .withArgs(maxFee + 1n, maxFee);
      await w.join(w.nodeSigners.slice(0, 3));
      const taskId = await w.create(16, maxFee);
      await w.mineAndDispatch();
      const nodes = (await w.taskManager.getTask(taskId)).nodes.map(w.signerOf);
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_B]);
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_B], seals);
      expect(await w.token.balanceOf(w.deployment.taskManager)).to.equal(0n);
      expect(await w.token.balanceOf(nodes[0].address)).to.equal(STAKE + (maxFee * 9_500n) / 10_000n / 2n);
    });
  });

  describe("14. the model registry under attack", () => {
    it("no model index past MAX_MODELS: the 65th registration is refused, indexes 64 and 2^256-1 are unknown everywhere", async () => {
      const w = await world();
      for (let i = 1; i < 64; i++) await w.registry.registerModel(`m${i}`, "main", ethersLib.id(`m${i}`), [1, 0, 0, 0, 0], 0);
      await expect(w.registry.registerModel("m64", "main", ethersLib.id("m64"), [1, 0, 0, 0, 0], 0))
        .to.be.revertedWithCustomError(w.registry, "ModelLimitReached")
        .withArgs(64n);
      for (const model of [64n, 256n, ethersLib.MaxUint256]) {
        await expect(w.taskManager.connect(w.creator).createTask(ethersLib.id("x"), model, 16, FEE))
          .to.be.revertedWithCustomError(w.taskManager, "UnknownModel")
          .withArgs(model);
        await expect(w.registry.enableModel(0, model)).to.be.revertedWithCustomError(w.registry, "UnknownModel").withArgs(model);
        await expect(w.registry.disableModel(0, model)).to.be.revertedWithCustomError(w.registry, "ModelNotEnabled");
      }
      // Index 63 (the last bit of a group's map) is a model like any other.
      await w.registry.enableModel(0, 63);
      await w.join(w.nodeSigners.slice(0, 3));
      const taskId = await w.create(16, FEE, ethersLib.id("m63 task"), 63n);
      await w.mineAndDispatch();
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Committing);
    });

    it("disabling the model of a running task: the task still settles and pays, nobody is slashed", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.registry.disableModel(0, MODEL);
      await w.registry.retireModel(MODEL);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      const last = w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_A, seals[2]!.salt);
      await expect(last).to.emit(w.taskManager, "TaskSucceeded").withArgs(taskId, RESULT_A);
      await expect(last).to.not.emit(w.registry, "NodeSlashed");
    });

    it("retiring the group of a running task: it settles, its nodes are paid and leave with their stakes", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      await w.registry.retireGroup(0);
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A], seals);
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Succeeded);
      for (const node of nodes) await expect(w.registry.connect(node).quit()).to.emit(w.registry, "NodeQuit").withArgs(node.address, STAKE);
      expect(await w.registry.totalStaked()).to.equal(0n);
    });

    it("disable then enable again on a populated group does not skip the activation delay", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      await w.registry.disableModel(0, MODEL);
      await w.registry.disableModel(1, MODEL);
      await w.registry.enableModel(0, MODEL);
      const [enabled, pending] = await w.registry.groupModels(0);
      expect([enabled, pending]).to.deep.equal([0n, 1n]);
      await expect(w.taskManager.connect(w.creator).createTask(ethersLib.id("early"), MODEL, 16, FEE)).to.be.revertedWithCustomError(
        w.taskManager,
        "NoGroupForModel",
      );
      await expect(w.registry.activateModels(0)).to.be.revertedWithCustomError(w.registry, "ModelsNotDue");
    });

    it("a node cannot make a model active on its group early by leaving and rejoining (the delay counts from the enable)", async () => {
      const w = await world();
      const [a, b, c] = w.nodeSigners;
      await w.join([a]);
      await w.registry.registerModel("late", "main", ethersLib.id("late"), [1, 0, 0, 0, 0], 0);
      await w.registry.enableModel(0, 1n); // populated: pending for a day
      await w.registry.connect(a).quit(); // the group empties ...
      await w.join([a, b, c]); // ... and refills: the pending model stays pending
      const [enabled, pending] = await w.registry.groupModels(0);
      expect([enabled, pending]).to.deep.equal([1n, 2n]);
      await expect(w.registry.activateModels(0)).to.be.revertedWithCustomError(w.registry, "ModelsNotDue");
    });
  });

  describe("15. racing the deadlines", () => {
    it("an expire sent at the commit deadline's second cannot cut it short; a commit in that second is accepted", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, undefined]);
      const deadline = (await w.taskManager.getTask(taskId)).deadline;
      await networkHelpers.time.setNextBlockTimestamp(deadline);
      await expect(w.taskManager.expire(taskId)).to.be.revertedWithCustomError(w.taskManager, "NotExpired");
      const seal = await w.sealFor(taskId, nodes[2], RESULT_A);
      await networkHelpers.time.setNextBlockTimestamp(deadline);
      await expect(w.taskManager.connect(nodes[2]).commit(taskId, seal.commitment)).to.emit(w.taskManager, "TaskRevealOpened");
    });
  });
});
