import { expect } from "chai";
import { ethers as ethersLib } from "ethers";
import { CARD_4090, CARD_H100, NodeStatus, RESULT_A, STAKE, world } from "./fixture.js";

describe("NodeRegistry", () => {
  describe("join", () => {
    it("locks the stake, records the node and makes it available in its group", async () => {
      const w = await world();
      const [node] = w.nodeSigners;
      const groupId = await w.registry.groupIdOf(CARD_4090, 24);
      expect(groupId).to.equal(0n);
      const tx = w.registry.connect(node).join(groupId);
      await expect(tx).to.emit(w.registry, "NodeJoined").withArgs(node.address, groupId, CARD_4090, 24, STAKE);
      await expect(tx).to.changeTokenBalances(w.connectionEthers, w.token, [node, w.registry], [-STAKE, STAKE]);
      const info = await w.registry.getNode(node.address);
      expect(info.status).to.equal(NodeStatus.Available);
      expect(info.cardModel).to.equal(CARD_4090);
      expect(info.vramGb).to.equal(24n);
      expect(info.groupId).to.equal(groupId);
      expect(info.stake).to.equal(STAKE);
      expect(await w.registry.availableCount(groupId)).to.equal(1n);
      expect(await w.registry.totalStaked()).to.equal(STAKE);
    });

    it("groups exist only when governance adds them; an unknown or duplicate group is refused", async () => {
      const w = await world();
      expect(await w.registry.groupIdOf(CARD_H100, 80)).to.equal(1n);
      await expect(w.registry.groupIdOf(CARD_H100, 94)).to.be.revertedWithCustomError(w.registry, "UnknownGroup");
      await expect(w.registry.connect(w.outsider).addGroup("my card", 1000)).to.be.revertedWithCustomError(
        w.registry,
        "AccessControlUnauthorizedAccount",
      );
      await expect(w.registry.addGroup(CARD_H100, 80)).to.be.revertedWithCustomError(w.registry, "GroupExists").withArgs(1n);
      await expect(w.registry.connect(w.nodeSigners[0]).join(7)).to.be.revertedWithCustomError(w.registry, "UnknownGroup").withArgs(7n);
      await expect(w.registry.addGroup(CARD_H100, 94)).to.emit(w.registry, "GroupAdded").withArgs(2n, CARD_H100, 94);
    });

    it("puts different card models and different VRAM sizes in different groups", async () => {
      const w = await world();
      const [a, b, c] = w.nodeSigners;
      await w.join([a], CARD_4090, 24);
      await w.join([b], CARD_H100, 80);
      await w.join([c], CARD_H100, 94);
      expect(await w.registry.groupCount()).to.equal(3n);
      expect(await w.registry.availableCount(await w.registry.groupIdOf(CARD_H100, 80))).to.equal(1n);
    });

    it("rejects a second join, an empty or too long card model, zero VRAM and a missing allowance", async () => {
      const w = await world();
      const [node, other] = w.nodeSigners;
      await w.join([node]);
      await expect(w.registry.connect(node).join(0)).to.be.revertedWithCustomError(w.registry, "AlreadyJoined").withArgs(node.address);
      await expect(w.registry.addGroup("", 24)).to.be.revertedWithCustomError(w.registry, "InvalidCardModel");
      await expect(w.registry.addGroup("x".repeat(65), 24)).to.be.revertedWithCustomError(w.registry, "InvalidCardModel");
      await expect(w.registry.addGroup(CARD_4090, 0)).to.be.revertedWithCustomError(w.registry, "InvalidVram");
      await w.token.connect(other).approve(await w.registry.getAddress(), 0);
      await expect(w.registry.connect(other).join(0)).to.be.revertedWithCustomError(w.token, "ERC20InsufficientAllowance");
    });

    it("caps the number of groups at MAX_GROUPS", async () => {
      const w = await world();
      const max = Number(await w.registry.MAX_GROUPS());
      for (let i = 2; i < max; i++) await w.registry.addGroup(`card-${i}`, 8);
      await expect(w.registry.addGroup("one-too-many", 8)).to.be.revertedWithCustomError(w.registry, "GroupLimitReached").withArgs(max);
      // An existing group still accepts members.
      await expect(w.registry.connect(w.nodeSigners[0]).join(max - 1)).to.emit(w.registry, "NodeJoined");
    });
  });

  describe("pause, resume, quit", () => {
    it("pause removes an idle node from selection and resume restores it", async () => {
      const w = await world();
      const [node] = w.nodeSigners;
      await w.join([node]);
      const groupId = await w.registry.groupIdOf(CARD_4090, 24);
      await expect(w.registry.connect(node).pause()).to.emit(w.registry, "NodePaused").withArgs(node.address);
      expect((await w.registry.getNode(node.address)).status).to.equal(NodeStatus.Paused);
      expect(await w.registry.availableCount(groupId)).to.equal(0n);
      await expect(w.registry.connect(node).resume()).to.emit(w.registry, "NodeResumed").withArgs(node.address);
      expect((await w.registry.getNode(node.address)).status).to.equal(NodeStatus.Available);
      expect(await w.registry.availableNodes(groupId)).to.deep.equal([node.address]);
    });

    it("quit returns the stake from Available and from Paused", async () => {
      const w = await world();
      const [a, b] = w.nodeSigners;
      await w.join([a, b]);
      await w.registry.connect(b).pause();
      const tx = w.registry.connect(a).quit();
      await expect(tx).to.emit(w.registry, "NodeQuit").withArgs(a.address, STAKE);
      await expect(tx).to.changeTokenBalances(w.connectionEthers, w.token, [a, w.registry], [STAKE, -STAKE]);
      await expect(w.registry.connect(b).quit()).to.emit(w.registry, "NodeQuit").withArgs(b.address, STAKE);
      expect((await w.registry.getNode(a.address)).status).to.equal(NodeStatus.None);
      expect(await w.registry.totalStaked()).to.equal(0n);
      expect(await w.registry.availableCount(await w.registry.groupIdOf(CARD_4090, 24))).to.equal(0n);
    });

    it("keeps the swap-and-pop index consistent when a middle node leaves", async () => {
      const w = await world();
      const [a, b, c] = w.nodeSigners;
      await w.join([a, b, c]);
      const groupId = await w.registry.groupIdOf(CARD_4090, 24);
      await w.registry.connect(a).quit();
      expect(await w.registry.availableNodes(groupId)).to.deep.equal([c.address, b.address]);
      await w.registry.connect(c).pause();
      expect(await w.registry.availableNodes(groupId)).to.deep.equal([b.address]);
      await w.registry.connect(c).resume();
      expect(await w.registry.availableNodes(groupId)).to.deep.equal([b.address, c.address]);
    });

    it("rejects actions that do not fit the node's status", async () => {
      const w = await world();
      const [node, stranger] = w.nodeSigners;
      await expect(w.registry.connect(stranger).pause())
        .to.be.revertedWithCustomError(w.registry, "InvalidNodeStatus")
        .withArgs(stranger.address, NodeStatus.None);
      await expect(w.registry.connect(stranger).resume())
        .to.be.revertedWithCustomError(w.registry, "InvalidNodeStatus")
        .withArgs(stranger.address, NodeStatus.None);
      await expect(w.registry.connect(stranger).quit()).to.be.revertedWithCustomError(w.registry, "NotJoined").withArgs(stranger.address);
      await w.join([node]);
      await expect(w.registry.connect(node).resume())
        .to.be.revertedWithCustomError(w.registry, "InvalidNodeStatus")
        .withArgs(node.address, NodeStatus.Available);
      await w.registry.connect(node).pause();
      await expect(w.registry.connect(node).pause())
        .to.be.revertedWithCustomError(w.registry, "InvalidNodeStatus")
        .withArgs(node.address, NodeStatus.Paused);
    });
  });

  describe("busy nodes", () => {
    it("a busy node that pauses becomes PendingPause and is Paused when its task ends", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      await expect(w.registry.connect(nodes[0]).pause())
        .to.emit(w.registry, "NodeStatusChanged")
        .withArgs(nodes[0].address, NodeStatus.PendingPause);
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A], seals);
      expect((await w.registry.getNode(nodes[0].address)).status).to.equal(NodeStatus.Paused);
      expect((await w.registry.getNode(nodes[1].address)).status).to.equal(NodeStatus.Available);
    });

    it("resume while PendingPause cancels the pending pause", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { nodes } = await w.started();
      await w.registry.connect(nodes[0]).pause();
      await expect(w.registry.connect(nodes[0]).resume()).to.emit(w.registry, "NodeResumed");
      expect((await w.registry.getNode(nodes[0].address)).status).to.equal(NodeStatus.Busy);
    });

    it("quit while busy becomes PendingQuit and returns the stake when the task ends", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      const { taskId, nodes } = await w.started();
      await w.registry.connect(nodes[2]).quit();
      const info = await w.registry.getNode(nodes[2].address);
      expect(info.status).to.equal(NodeStatus.PendingQuit);
      expect(info.taskId).to.equal(taskId);
      await expect(w.registry.connect(nodes[2]).quit())
        .to.be.revertedWithCustomError(w.registry, "InvalidNodeStatus")
        .withArgs(nodes[2].address, NodeStatus.PendingQuit);
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A], seals);
      expect((await w.registry.getNode(nodes[2].address)).status).to.equal(NodeStatus.None);
      expect(await w.registry.totalStaked()).to.equal(STAKE * 2n);
      expect(await w.registry.availableCount(await w.registry.groupIdOf(CARD_4090, 24))).to.equal(2n);
    });

    it("only the task manager may draw and release nodes", async () => {
      const w = await world();
      await w.join(w.nodeSigners.slice(0, 3));
      await expect(w.registry.connect(w.outsider).drawNodes(0, 1, 1, 1))
        .to.be.revertedWithCustomError(w.registry, "NotTaskManager")
        .withArgs(w.outsider.address);
      const three = w.nodeSigners.slice(0, 3).map((n) => n.address) as [string, string, string];
      await expect(w.registry.connect(w.admin).releaseNodes(three, 7, 7, 0, 10_000))
        .to.be.revertedWithCustomError(w.registry, "NotTaskManager")
        .withArgs(w.admin.address);
    });
  });

  describe("kick", () => {
    it("the admin kicks an idle node (stake returned) and a busy node after its task", async () => {
      const w = await world();
      const [a, b, c, d] = w.nodeSigners;
      await w.join([a, b, c, d]);
      await w.registry.connect(d).pause();
      await expect(w.registry.kick(d.address)).to.emit(w.registry, "NodeKicked").withArgs(d.address, STAKE);
      const { taskId, nodes } = await w.started();
      await w.registry.kick(nodes[0].address);
      expect((await w.registry.getNode(nodes[0].address)).status).to.equal(NodeStatus.PendingQuit);
      const seals = await w.commitAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A]);
      await w.revealAll(taskId, nodes, [RESULT_A, RESULT_A, RESULT_A], seals);
      expect((await w.registry.getNode(nodes[0].address)).status).to.equal(NodeStatus.None);
      expect(await w.token.balanceOf(nodes[0].address)).to.be.greaterThan(STAKE * 2n);
    });

    it("rejects kicks by non-admins and of unknown nodes", async () => {
      const w = await world();
      const [a] = w.nodeSigners;
      await w.join([a]);
      await expect(w.registry.connect(w.outsider).kick(a.address)).to.be.revertedWithCustomError(
        w.registry,
        "AccessControlUnauthorizedAccount",
      );
      await expect(w.registry.kick(w.outsider.address)).to.be.revertedWithCustomError(w.registry, "NotJoined").withArgs(w.outsider.address);
    });
  });

  describe("parameters", () => {
    it("the admin sets stake and treasury within their rules", async () => {
      const w = await world();
      await expect(w.registry.setStakeAmount(5n)).to.emit(w.registry, "StakeAmountSet").withArgs(5n);
      await expect(w.registry.setStakeAmount(0n)).to.be.revertedWithCustomError(w.registry, "InvalidStakeAmount");
      await expect(w.registry.setStakeAmount(1n << 96n)).to.be.revertedWithCustomError(w.registry, "InvalidStakeAmount");
      await expect(w.registry.setTreasury(ethersLib.ZeroAddress)).to.be.revertedWithCustomError(w.registry, "ZeroAddress");
      await expect(w.registry.connect(w.outsider).setStakeAmount(1n)).to.be.revertedWithCustomError(
        w.registry,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("a node keeps the stake it joined with when the stake amount changes", async () => {
      const w = await world();
      const [a] = w.nodeSigners;
      await w.join([a]);
      await w.registry.setStakeAmount(STAKE * 2n);
      await expect(w.registry.connect(a).quit()).to.emit(w.registry, "NodeQuit").withArgs(a.address, STAKE);
    });
  });
});
