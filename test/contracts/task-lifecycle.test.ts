import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import {
  AbortReason,
  COMMIT_WINDOW,
  FEE,
  MAX_QUEUE,
  MIN_FEE,
  MODEL,
  NODE_SHARE_BPS,
  NodeStatus,
  QUEUE_WINDOW,
  RESULT_A,
  RESULT_B,
  RESULT_C,
  REVEAL_WINDOW,
  STAKE,
  TaskStatus,
  networkHelpers,
  world,
  type World,
} from "./fixture.js";

const BPS = 10_000n;
const ALL_A = [RESULT_A, RESULT_A, RESULT_A];

/** Three joined nodes and a started task. */
async function startedWorld() {
  const w = await world();
  await w.join(w.nodeSigners.slice(0, 3));
  const started = await w.started();
  return { w, ...started };
}

async function expectConserved(w: World) {
  const h = await w.tokenHoldings();
  expect(h.registry).to.equal(h.totalStaked);
  expect(h.taskManager).to.equal(h.totalEscrow);
}

describe("TaskManager", () => {
  describe("createTask", () => {
    it("escrows the fee, records the task and queues it until its randomness block is mined", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const argsHash = ethersLib.id("task document bytes");
      const tx = w.taskManager.connect(w.creator).createTask(argsHash, MODEL, 16, FEE);
      await expect(tx).to.emit(w.taskManager, "TaskCreated").withArgs(1n, w.creator.address, argsHash, MODEL, 16, FEE);
      await expect(tx).to.emit(w.taskManager, "TaskQueued").withArgs(1n, 1n);
      await expect(tx).to.changeTokenBalances(w.connectionEthers, w.token, [w.creator, w.taskManager], [-FEE, FEE]);
      const task = await w.taskManager.getTask(1n);
      expect(task.status).to.equal(TaskStatus.Queued);
      expect(task.creator).to.equal(w.creator.address);
      expect(task.argsHash).to.equal(argsHash);
      expect(task.fee).to.equal(FEE);
      expect(task.deadline).to.equal(task.createdAt + BigInt(QUEUE_WINDOW));
      expect(await w.taskManager.totalEscrow()).to.equal(FEE);
      // Three free nodes, but the randomness (hash of the next block) does not exist yet.
      await w.taskManager.dispatch(8);
      expect((await w.taskManager.getTask(1n)).status).to.equal(TaskStatus.Queued);
    });

    it("starts once the randomness block exists, with three nodes of the group and a commit deadline", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const taskId = await w.create();
      await networkHelpers.mine(1);
      const tx = w.taskManager.dispatch(8);
      await expect(tx).to.emit(w.taskManager, "TaskStarted");
      const task = await w.taskManager.getTask(taskId);
      expect(task.status).to.equal(TaskStatus.Committing);
      expect([...task.nodes].sort()).to.deep.equal(
        w.nodeSigners
          .slice(0, 3)
          .map((n) => n.address)
          .sort(),
      );
      expect(task.groupId).to.equal(await w.registry.groupIdOf("NVIDIA GeForce RTX 4090", 24));
      const block = await w.connectionEthers.provider.getBlock("latest");
      expect(task.deadline).to.equal(BigInt(block!.timestamp + COMMIT_WINDOW));
      for (const node of task.nodes) {
        const info = await w.registry.getNode(node);
        expect(info.status).to.equal(NodeStatus.Busy);
        expect(info.taskId).to.equal(taskId);
      }
      expect(await w.taskManager.queueLength()).to.equal(0n);
    });

    it("a later createTask dispatches earlier ready tasks opportunistically", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const first = await w.create();
      await networkHelpers.mine(1);
      const second = await w.create();
      expect((await w.taskManager.getTask(first)).status).to.equal(TaskStatus.Committing);
      expect((await w.taskManager.getTask(second)).status).to.equal(TaskStatus.Queued);
    });

    it("rejects a zero args hash, zero VRAM, a fee below the minimum, a full queue and a missing allowance", async () => {
      const w = await world();
      const tm = w.taskManager.connect(w.creator);
      await expect(tm.createTask(ethersLib.ZeroHash, MODEL, 16, FEE)).to.be.revertedWithCustomError(tm, "InvalidArgsHash");
      await expect(tm.createTask(ethersLib.id("x"), MODEL, 0, FEE)).to.be.revertedWithCustomError(tm, "InvalidVram");
      await expect(tm.createTask(ethersLib.id("x"), MODEL, 16, MIN_FEE - 1n))
        .to.be.revertedWithCustomError(tm, "FeeTooLow")
        .withArgs(MIN_FEE - 1n, MIN_FEE);
      for (let i = 0; i < MAX_QUEUE; i++) await w.create();
      await expect(tm.createTask(ethersLib.id("x"), MODEL, 16, FEE))
        .to.be.revertedWithCustomError(tm, "QueueFull")
        .withArgs(MAX_QUEUE);
      await w.token.connect(w.outsider).approve(await w.taskManager.getAddress(), 0);
      await networkHelpers.time.increase(QUEUE_WINDOW + 1);
      await w.taskManager.expire(1n);
      await expect(w.taskManager.connect(w.outsider).createTask(ethersLib.id("x"), MODEL, 16, FEE)).to.be.revertedWithCustomError(
        w.token,
        "ERC20InsufficientAllowance",
      );
    });
  });

  describe("cancel and queue timeout", () => {
    it("the creator cancels a queued task before its randomness is known, forfeiting 10 % to the treasury", async () => {
      const w = await world();
      const taskId = await w.create();
      const tx = w.taskManager.connect(w.creator).cancel(taskId);
      await expect(tx).to.emit(w.taskManager, "TaskAborted").withArgs(taskId, AbortReason.Cancelled);
      await expect(tx)
        .to.emit(w.taskManager, "FeeForfeited")
        .withArgs(taskId, FEE / 10n);
      await expect(tx).to.changeTokenBalances(
        w.connectionEthers,
        w.token,
        [w.creator, w.treasury, w.taskManager],
        [FEE - FEE / 10n, FEE / 10n, -FEE],
      );
      expect((await w.taskManager.getTask(taskId)).abortReason).to.equal(AbortReason.Cancelled);
      expect(await w.taskManager.queueLength()).to.equal(0n);
      await expectConserved(w);
    });

    it("rejects cancel by others, of a started task and of an unknown task", async () => {
      const { w, taskId } = await startedWorld();
      const queued = await w.create();
      await expect(w.taskManager.connect(w.outsider).cancel(queued))
        .to.be.revertedWithCustomError(w.taskManager, "NotCreator")
        .withArgs(queued, w.outsider.address);
      await expect(w.taskManager.connect(w.creator).cancel(taskId))
        .to.be.revertedWithCustomError(w.taskManager, "InvalidTaskStatus")
        .withArgs(taskId, TaskStatus.Committing);
      await expect(w.taskManager.connect(w.creator).cancel(99n)).to.be.revertedWithCustomError(w.taskManager, "UnknownTask").withArgs(99n);
    });

    it("anyone expires a task that waited past its queue deadline; the creator is refunded", async () => {
      const w = await world();
      const taskId = await w.create();
      const deadline = (await w.taskManager.getTask(taskId)).deadline;
      await expect(w.taskManager.connect(w.outsider).expire(taskId))
        .to.be.revertedWithCustomError(w.taskManager, "NotExpired")
        .withArgs(taskId, deadline);
      await networkHelpers.time.increaseTo(deadline + 1n);
      const tx = w.taskManager.connect(w.outsider).expire(taskId);
      await expect(tx).to.emit(w.taskManager, "TaskAborted").withArgs(taskId, AbortReason.QueueTimeout);
      await expect(tx).to.changeTokenBalances(w.connectionEthers, w.token, [w.creator, w.treasury], [FEE - FEE / 10n, FEE / 10n]);
      await expect(w.taskManager.expire(taskId))
        .to.be.revertedWithCustomError(w.taskManager, "InvalidTaskStatus")
        .withArgs(taskId, TaskStatus.Aborted);
    });

    it("does not dispatch a task whose queue deadline passed: dispatch expires it", async () => {
      const w = await world();
      const taskId = await w.create();
      await networkHelpers.time.increase(QUEUE_WINDOW + 1);
      await w.join(w.nodeSigners.slice(0, 3));
      await expect(w.taskManager.dispatch(8)).to.emit(w.taskManager, "TaskAborted").withArgs(taskId, AbortReason.QueueTimeout);
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Aborted);
      expect(await w.taskManager.queueLength()).to.equal(0n);
    });
  });

  describe("commit-reveal outcomes", () => {
    it("three honest nodes: the task succeeds and the fee is shared", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const seals = await w.commitAll(taskId, nodes, ALL_A);
      const task = await w.taskManager.getTask(taskId);
      expect(task.status).to.equal(TaskStatus.Revealing);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      const share = (FEE * NODE_SHARE_BPS) / BPS / 3n;
      const last = w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_A, seals[2]!.salt);
      await expect(last).to.emit(w.taskManager, "TaskSucceeded").withArgs(taskId, RESULT_A);
      await expect(last).to.emit(w.taskManager, "NodePaid").withArgs(taskId, nodes[0].address, share);
      await expect(last).to.changeTokenBalances(
        w.connectionEthers,
        w.token,
        [nodes[0], nodes[1], nodes[2], w.treasury, w.taskManager],
        [share, share, share, FEE - 3n * share, -FEE],
      );
      const settled = await w.taskManager.getTask(taskId);
      expect(settled.status).to.equal(TaskStatus.Succeeded);
      expect(settled.resultHash).to.equal(RESULT_A);
      for (const node of nodes) expect((await w.registry.getNode(node.address)).status).to.equal(NodeStatus.Available);
      await expectConserved(w);
    });

    it("one wrong node is slashed to the treasury while the task succeeds", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const results = [RESULT_A, RESULT_B, RESULT_A];
      const seals = await w.commitAll(taskId, nodes, results);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_B, seals[1]!.salt);
      const share = (FEE * NODE_SHARE_BPS) / BPS / 2n;
      const last = w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_A, seals[2]!.salt);
      await expect(last).to.emit(w.registry, "NodeSlashed").withArgs(nodes[1].address, taskId, STAKE);
      await expect(last).to.changeTokenBalances(
        w.connectionEthers,
        w.token,
        [nodes[0], nodes[1], nodes[2], w.treasury],
        [share, 0n, share, FEE - 2n * share + STAKE],
      );
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Succeeded);
      expect((await w.registry.getNode(nodes[1].address)).status).to.equal(NodeStatus.None);
      expect(await w.registry.totalStaked()).to.equal(STAKE * 2n);
      await expectConserved(w);
    });

    it("a partial slash returns the rest of the stake to the slashed node", async () => {
      const w = await world();
      await w.taskManager.setSlashBps(2_500);
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      const seals = await w.commitAll(taskId, nodes, [RESULT_B, RESULT_A, RESULT_A]);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_B, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      const last = w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_A, seals[2]!.salt);
      await expect(last)
        .to.emit(w.registry, "NodeSlashed")
        .withArgs(nodes[0].address, taskId, STAKE / 4n);
      await expect(last).to.changeTokenBalance(w.connectionEthers, w.token, nodes[0], STAKE - STAKE / 4n);
    });

    it("all three different: aborted with a refund, nobody slashed, the disagreement is published", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const results = [RESULT_A, RESULT_B, RESULT_C];
      const seals = await w.commitAll(taskId, nodes, results);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_B, seals[1]!.salt);
      const last = w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_C, seals[2]!.salt);
      await expect(last).to.emit(w.taskManager, "TaskAborted").withArgs(taskId, AbortReason.NoMajority);
      await expect(last).to.emit(w.taskManager, "NoMajorityNodes");
      await expect(last).to.not.emit(w.registry, "NodeSlashed");
      await expect(last).to.changeTokenBalances(w.connectionEthers, w.token, [w.creator, w.taskManager], [FEE, -FEE]);
      for (const node of nodes) expect((await w.registry.getNode(node.address)).status).to.equal(NodeStatus.Available);
      await expectConserved(w);
    });

    it("a deterministic task-error outcome reaches consensus like any result", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const taskError = ethersLib.id('{"error":"InvalidArguments"}');
      const seals = await w.commitAll(taskId, nodes, [taskError, taskError, taskError]);
      await w.revealAll(taskId, nodes, [taskError, taskError, taskError], seals);
      const task = await w.taskManager.getTask(taskId);
      expect(task.status).to.equal(TaskStatus.Succeeded);
      expect(task.resultHash).to.equal(taskError);
    });

    it("a node that never commits is slashed once the two others committed and agreed; the task succeeds", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, undefined]);
      const deadline = (await w.taskManager.getTask(taskId)).deadline;
      await expect(w.taskManager.expire(taskId)).to.be.revertedWithCustomError(w.taskManager, "NotExpired").withArgs(taskId, deadline);
      await networkHelpers.time.increaseTo(deadline + 1n);
      await expect(w.taskManager.connect(nodes[2]).commit(taskId, ethersLib.id("late")))
        .to.be.revertedWithCustomError(w.taskManager, "DeadlinePassed")
        .withArgs(taskId, deadline);
      const expired = w.taskManager.connect(w.outsider).expire(taskId);
      await expect(expired).to.not.emit(w.registry, "NodeSlashed");
      await expect(expired).to.emit(w.taskManager, "TaskRevealOpened");
      expect((await w.registry.getNode(nodes[2].address)).status).to.equal(NodeStatus.Busy);
      await expect(w.taskManager.connect(nodes[2]).reveal(taskId, RESULT_A, ethersLib.ZeroHash))
        .to.be.revertedWithCustomError(w.taskManager, "NotCommitted")
        .withArgs(taskId, nodes[2].address);
      const share = (FEE * NODE_SHARE_BPS) / BPS / 2n;
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      const last = w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt);
      await expect(last).to.emit(w.taskManager, "TaskSucceeded").withArgs(taskId, RESULT_A);
      await expect(last).to.emit(w.registry, "NodeSlashed").withArgs(nodes[2].address, taskId, STAKE);
      await expect(last).to.changeTokenBalances(w.connectionEthers, w.token, [nodes[0], nodes[1]], [share, share]);
      await expectConserved(w);
    });

    it("fewer than two commitments by the deadline: refund and nobody slashed", async () => {
      const { w, taskId, nodes } = await startedWorld();
      await w.commitAll(taskId, nodes, [RESULT_A, undefined, undefined]);
      await networkHelpers.time.increase(COMMIT_WINDOW + 1);
      const tx = w.taskManager.expire(taskId);
      await expect(tx).to.emit(w.taskManager, "TaskAborted").withArgs(taskId, AbortReason.TooFewCommitments);
      await expect(tx).to.not.emit(w.registry, "NodeSlashed");
      await expect(tx).to.changeTokenBalance(w.connectionEthers, w.token, w.creator, FEE);
      for (const node of nodes) expect((await w.registry.getNode(node.address)).status).to.equal(NodeStatus.Available);
      await expectConserved(w);
    });

    it("a node that commits and never reveals is slashed; the two matching reveals win", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const seals = await w.commitAll(taskId, nodes, ALL_A);
      await w.revealAll(taskId, nodes, [RESULT_A, undefined, RESULT_A], seals);
      expect((await w.taskManager.getTask(taskId)).status).to.equal(TaskStatus.Revealing);
      await networkHelpers.time.increase(REVEAL_WINDOW + 1);
      await expect(w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[1]!.salt)).to.be.revertedWithCustomError(
        w.taskManager,
        "DeadlinePassed",
      );
      const tx = w.taskManager.connect(w.outsider).expire(taskId);
      await expect(tx).to.emit(w.registry, "NodeSlashed").withArgs(nodes[1].address, taskId, STAKE);
      await expect(tx).to.emit(w.taskManager, "TaskSucceeded").withArgs(taskId, RESULT_A);
      await expectConserved(w);
    });

    it("only one reveal by the deadline: aborted (TooFewReveals), withholders slashed, creator refunded", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const seals = await w.commitAll(taskId, nodes, ALL_A);
      await w.revealAll(taskId, nodes, [RESULT_A, undefined, undefined], seals);
      await networkHelpers.time.increase(REVEAL_WINDOW + 1);
      const tx = w.taskManager.expire(taskId);
      await expect(tx).to.emit(w.taskManager, "TaskAborted").withArgs(taskId, AbortReason.TooFewReveals);
      await expect(tx).to.emit(w.registry, "NodeSlashed").withArgs(nodes[1].address, taskId, STAKE);
      await expect(tx).to.emit(w.registry, "NodeSlashed").withArgs(nodes[2].address, taskId, STAKE);
      await expect(tx).to.changeTokenBalances(w.connectionEthers, w.token, [w.creator, w.treasury], [FEE, 2n * STAKE]);
      expect((await w.registry.getNode(nodes[0].address)).status).to.equal(NodeStatus.Available);
      await expectConserved(w);
    });

    it("two commitments that reveal different results: aborted (NoMajority), the silent node not slashed", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_B, undefined]);
      await networkHelpers.time.increase(COMMIT_WINDOW + 1);
      await w.taskManager.expire(taskId);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      const last = w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_B, seals[1]!.salt);
      await expect(last).to.emit(w.taskManager, "TaskAborted").withArgs(taskId, AbortReason.NoMajority);
      await expect(last).to.not.emit(w.registry, "NodeSlashed");
      expect((await w.registry.getNode(nodes[2].address)).status).to.equal(NodeStatus.Available);
      await expectConserved(w);
    });
  });

  describe("commit and reveal rules", () => {
    it("a commitment binds the node: another node cannot open it even with the same result and salt", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_B, RESULT_A]);
      // nodes[1] learns nodes[0]'s result and salt and tries to reveal them as its own.
      await expect(w.taskManager.connect(nodes[1]).reveal(taskId, RESULT_A, seals[0]!.salt))
        .to.be.revertedWithCustomError(w.taskManager, "InvalidReveal")
        .withArgs(taskId, nodes[1].address);
      await expect(w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_B, seals[0]!.salt))
        .to.be.revertedWithCustomError(w.taskManager, "InvalidReveal")
        .withArgs(taskId, nodes[0].address);
      expect(await w.taskManager.commitmentOf(taskId, nodes[0].address, RESULT_A, seals[0]!.salt)).to.equal(
        ethersLib.keccak256(
          ethersLib.AbiCoder.defaultAbiCoder().encode(
            ["uint256", "address", "bytes32", "bytes32"],
            [taskId, nodes[0].address, RESULT_A, seals[0]!.salt],
          ),
        ),
      );
    });

    it("rejects commits from outsiders, twice, zero, for unknown tasks and after reveals opened", async () => {
      const { w, taskId, nodes } = await startedWorld();
      await expect(w.taskManager.connect(w.outsider).commit(taskId, ethersLib.id("c")))
        .to.be.revertedWithCustomError(w.taskManager, "NotSelected")
        .withArgs(taskId, w.outsider.address);
      await expect(w.taskManager.connect(nodes[0]).commit(taskId, ethersLib.ZeroHash)).to.be.revertedWithCustomError(
        w.taskManager,
        "InvalidCommitment",
      );
      await expect(w.taskManager.connect(nodes[0]).commit(77n, ethersLib.id("c")))
        .to.be.revertedWithCustomError(w.taskManager, "UnknownTask")
        .withArgs(77n);
      await w.taskManager.connect(nodes[0]).commit(taskId, ethersLib.id("c0"));
      await expect(w.taskManager.connect(nodes[0]).commit(taskId, ethersLib.id("c1")))
        .to.be.revertedWithCustomError(w.taskManager, "AlreadyCommitted")
        .withArgs(taskId, nodes[0].address);
      await expect(w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, ethersLib.ZeroHash))
        .to.be.revertedWithCustomError(w.taskManager, "InvalidTaskStatus")
        .withArgs(taskId, TaskStatus.Committing);
      await w.taskManager.connect(nodes[1]).commit(taskId, ethersLib.id("c2"));
      await w.taskManager.connect(nodes[2]).commit(taskId, ethersLib.id("c3"));
      await expect(w.taskManager.connect(nodes[0]).commit(taskId, ethersLib.id("c4")))
        .to.be.revertedWithCustomError(w.taskManager, "InvalidTaskStatus")
        .withArgs(taskId, TaskStatus.Revealing);
    });

    it("rejects a second reveal, reveals of settled tasks and expiring before the reveal deadline", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const seals = await w.commitAll(taskId, nodes, ALL_A);
      await w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt);
      await expect(w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt))
        .to.be.revertedWithCustomError(w.taskManager, "AlreadyRevealed")
        .withArgs(taskId, nodes[0].address);
      await expect(w.taskManager.expire(taskId)).to.be.revertedWithCustomError(w.taskManager, "NotExpired");
      await w.revealAll(taskId, nodes, [undefined, RESULT_A, RESULT_A], seals);
      await expect(w.taskManager.connect(nodes[0]).reveal(taskId, RESULT_A, seals[0]!.salt))
        .to.be.revertedWithCustomError(w.taskManager, "InvalidTaskStatus")
        .withArgs(taskId, TaskStatus.Succeeded);
      await expect(w.taskManager.expire(taskId))
        .to.be.revertedWithCustomError(w.taskManager, "InvalidTaskStatus")
        .withArgs(taskId, TaskStatus.Succeeded);
      await expect(w.taskManager.expire(1234n)).to.be.revertedWithCustomError(w.taskManager, "UnknownTask");
    });
  });

  describe("storage reuse", () => {
    it("a node's reused submission slot keeps tasks apart: a settled task keeps its result after its nodes' next task", async () => {
      const { w, taskId, nodes } = await startedWorld();
      const seals = await w.commitAll(taskId, nodes, ALL_A);
      await w.revealAll(taskId, nodes, ALL_A, seals);
      const { taskId: next, nodes: nextNodes } = await w.started();
      const nextSeals = await w.commitAll(next, nextNodes, [RESULT_B, RESULT_B, RESULT_B]);
      // Opening the old commitment in the new task fails: the slot now holds the new commitment.
      await expect(w.taskManager.connect(nodes[0]).reveal(next, RESULT_A, seals[0]!.salt)).to.be.revertedWithCustomError(
        w.taskManager,
        "InvalidReveal",
      );
      await w.revealAll(next, nextNodes, [RESULT_B, RESULT_B, RESULT_B], nextSeals);
      expect((await w.taskManager.getTask(taskId)).resultHash).to.equal(RESULT_A);
      expect((await w.taskManager.getTask(next)).resultHash).to.equal(RESULT_B);
      expect([...(await w.taskManager.getTask(taskId)).nodes]).to.deep.equal(nodes.map((n) => n.address));
    });

    it("a node silent at the commit phase stays in its task until the two committers settle it", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 5));
      const { taskId, nodes } = await w.started();
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, undefined]);
      await networkHelpers.time.increase(COMMIT_WINDOW + 1);
      await w.taskManager.expire(taskId);
      expect((await w.registry.getNode(nodes[2].address)).taskId).to.equal(taskId);
      const other = await w.create();
      await w.mineAndDispatch();
      expect((await w.taskManager.getTask(other)).status).to.equal(TaskStatus.Queued); // only two nodes free
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, undefined], seals);
      const task = await w.taskManager.getTask(taskId);
      expect(task.status).to.equal(TaskStatus.Succeeded);
      expect((await w.registry.getNode(nodes[2].address)).status).to.equal(NodeStatus.None);
      await expectConserved(w);
    });

    it("queue links survive cancelling from the middle, the head and the tail; an ended queued task has no nodes", async () => {
      const w = await world();
      const ids = [await w.create(), await w.create(), await w.create(), await w.create()];
      await networkHelpers.mine(300); // every request stale: its word is unusable, so cancelling is allowed
      await w.taskManager.connect(w.creator).cancel(ids[1]);
      expect(await w.taskManager.queuedTaskIds()).to.deep.equal([ids[0], ids[2], ids[3]]);
      await w.taskManager.connect(w.creator).cancel(ids[0]);
      await w.taskManager.connect(w.creator).cancel(ids[3]);
      expect(await w.taskManager.queuedTaskIds()).to.deep.equal([ids[2]]);
      const fifth = await w.create();
      expect(await w.taskManager.queuedTaskIds()).to.deep.equal([ids[2], fifth]);
      for (const id of [ids[0], ids[1], ids[3]]) {
        const task = await w.taskManager.getTask(id);
        expect(task.nodes).to.deep.equal([ethersLib.ZeroAddress, ethersLib.ZeroAddress, ethersLib.ZeroAddress]);
        expect(task.groupId).to.equal(0n);
      }
      await w.join(w.nodeSigners.slice(0, 6));
      await w.mineAndDispatch();
      expect(await w.taskManager.queuedTaskIds()).to.deep.equal([]);
      const started = await Promise.all([ids[2], fifth].map((id) => w.taskManager.getTask(id)));
      const addresses = new Set(started.flatMap((t) => [...t.nodes]));
      expect(addresses.size).to.equal(6);
      for (const t of started) expect(t.status).to.equal(TaskStatus.Committing);
      expect(await w.taskManager.queueLength()).to.equal(0n);
    });
  });

  describe("parameters", () => {
    it("the admin sets windows, fee split, queue bound, dispatch scan, minimum fee and treasury within their rules", async () => {
      const w = await world();
      const tm = w.taskManager;
      await expect(tm.setWindows(1, 2, 3))
        .to.emit(tm, "WindowsSet")
        .withArgs(1, 2, 3);
      await expect(tm.setWindows(0, 2, 3)).to.be.revertedWithCustomError(tm, "InvalidWindow");
      await expect(tm.setNodeShareBps(10_000)).to.emit(tm, "NodeShareBpsSet").withArgs(10_000);
      await expect(tm.setNodeShareBps(10_001)).to.be.revertedWithCustomError(tm, "InvalidBps").withArgs(10_001);
      await expect(tm.setMaxQueueLength(0)).to.be.revertedWithCustomError(tm, "InvalidQueueLength");
      await expect(tm.setMaxQueueLength(257)).to.be.revertedWithCustomError(tm, "InvalidQueueLength");
      await expect(tm.setAutoDispatchScan(65)).to.be.revertedWithCustomError(tm, "InvalidScan");
      await expect(tm.setSlashBps(0)).to.be.revertedWithCustomError(tm, "InvalidBps").withArgs(0);
      await expect(tm.setSlashBps(10_001)).to.be.revertedWithCustomError(tm, "InvalidBps").withArgs(10_001);
      await expect(tm.setMinFee(5n)).to.emit(tm, "MinFeeSet").withArgs(5n);
      await expect(tm.setTreasury(ethersLib.ZeroAddress)).to.be.revertedWithCustomError(tm, "ZeroAddress");
      await expect(tm.setWindows(2n ** 32n, 2, 3)).to.be.revertedWithCustomError(tm, "InvalidWindow");
      await expect(tm.setMinFee(2n ** 96n))
        .to.be.revertedWithCustomError(tm, "InvalidMinFee")
        .withArgs(2n ** 96n);
      expect(await tm.minFee()).to.equal(5n);
      expect(await tm.params()).to.deep.equal([1n, 2n, 3n, 10_000n, BigInt(MAX_QUEUE), 4n, 10_000n]);
      await expect(tm.connect(w.outsider).setWindows(1, 1, 1)).to.be.revertedWithCustomError(tm, "AccessControlUnauthorizedAccount");
    });
  });
});
