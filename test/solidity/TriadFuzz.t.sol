// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {vm} from "./Vm.sol";
import {TriadSetup} from "./TriadSetup.sol";
import {INodeRegistry} from "../../contracts/interfaces/INodeRegistry.sol";
import {ITaskManager} from "../../contracts/interfaces/ITaskManager.sol";

/// forge-config: default.fuzz.runs = 64
contract TriadFuzzTest is TriadSetup {
    address internal constant CREATOR = address(0xC0FFEE);
    bytes32 internal constant RIGHT = keccak256("right");

    function setUp() public {
        _deployTriad(9_500, 16);
        token.mint(CREATOR, 1_000_000 ether);
        vm.prank(CREATOR);
        token.approve(address(taskManager), type(uint256).max);
    }

    function _node(uint256 i) internal pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    function _join(uint256 i, uint256 groupId) internal {
        address node = _node(i);
        token.mint(node, STAKE);
        vm.startPrank(node);
        token.approve(address(registry), STAKE);
        registry.join(groupId);
        vm.stopPrank();
    }

    function _createAndStart(uint32 minVramGb, uint256 fee) internal returns (uint256 taskId) {
        vm.prank(CREATOR);
        taskId = taskManager.createTask(keccak256(abi.encode(block.number, fee)), MODEL_SMALL, minVramGb, fee);
        // The randomness is the hash of the block after the request; it exists once that block is sealed.
        vm.roll(block.number + 2);
        taskManager.dispatch(8);
    }

    function _salt(uint256 taskId, address node) internal pure returns (bytes32) {
        return keccak256(abi.encode(taskId, node, "salt"));
    }

    function _commitAndReveal(uint256 taskId, bytes32[3] memory results) internal {
        address[3] memory nodes = taskManager.getTask(taskId).nodes;
        for (uint256 k; k < 3; ++k) {
            bytes32 commitment = taskManager.commitmentOf(taskId, nodes[k], results[k], _salt(taskId, nodes[k]));
            vm.prank(nodes[k]);
            taskManager.commit(taskId, commitment);
        }
        for (uint256 k; k < 3; ++k) {
            vm.prank(nodes[k]);
            taskManager.reveal(taskId, results[k], _salt(taskId, nodes[k]));
        }
    }

    function test_honestLifecycle() public {
        for (uint256 i; i < 3; ++i) _join(i, GROUP_SMALL);
        uint256 taskId = _createAndStart(16, 10 ether);
        require(taskManager.getTask(taskId).status == ITaskManager.TaskStatus.Committing, "not started");
        _commitAndReveal(taskId, [RIGHT, RIGHT, RIGHT]);
        ITaskManager.TaskInfo memory task = taskManager.getTask(taskId);
        require(task.status == ITaskManager.TaskStatus.Succeeded, "not succeeded");
        require(task.resultHash == RIGHT, "wrong result");
    }

    /// The fee is split exactly: the matching nodes' shares plus the treasury's part equal the fee, and a
    /// wrong node's stake goes to the treasury.
    function testFuzz_feeAndSlashAccounting(uint96 feeSeed, uint16 shareSeed, uint8 wrongIndex) public {
        uint256 fee = MIN_FEE + (uint256(feeSeed) % 1_000_000 ether);
        uint16 shareBps = uint16(uint256(shareSeed) % 10_001);
        taskManager.setNodeShareBps(shareBps);
        for (uint256 i; i < 3; ++i) _join(i, GROUP_SMALL);
        uint256 taskId = _createAndStart(16, fee);
        bytes32[3] memory results = [RIGHT, RIGHT, RIGHT];
        uint256 wrong = wrongIndex % 3;
        results[wrong] = keccak256("wrong");
        address[3] memory nodes = taskManager.getTask(taskId).nodes;

        _commitAndReveal(taskId, results);

        uint256 share = (fee * shareBps) / 10_000 / 2;
        for (uint256 k; k < 3; ++k) {
            if (k == wrong) {
                require(token.balanceOf(nodes[k]) == 0, "slashed node kept tokens");
                require(registry.getNode(nodes[k]).status == INodeRegistry.NodeStatus.None, "slashed node still registered");
            } else {
                require(token.balanceOf(nodes[k]) == share, "wrong share");
            }
        }
        require(token.balanceOf(TREASURY) == fee - 2 * share + STAKE, "treasury got the wrong amount");
        require(token.balanceOf(address(taskManager)) == 0, "escrow left");
    }

    /// Only the exact (task, node, result, salt) opens a commitment.
    function testFuzz_revealNeedsTheExactOpening(bytes32 result, bytes32 salt, bytes32 otherResult, bytes32 otherSalt) public {
        vm.assume(result != otherResult && salt != otherSalt);
        for (uint256 i; i < 3; ++i) _join(i, GROUP_SMALL);
        uint256 taskId = _createAndStart(16, 10 ether);
        address[3] memory nodes = taskManager.getTask(taskId).nodes;
        for (uint256 k; k < 3; ++k) {
            bytes32 commitment = taskManager.commitmentOf(taskId, nodes[k], result, keccak256(abi.encode(salt, k)));
            vm.prank(nodes[k]);
            taskManager.commit(taskId, commitment);
        }
        bytes32 salt0 = keccak256(abi.encode(salt, 0));
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidReveal.selector, taskId, nodes[0]));
        taskManager.reveal(taskId, otherResult, salt0);
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidReveal.selector, taskId, nodes[0]));
        taskManager.reveal(taskId, result, otherSalt);
        // Another node cannot open node 0's commitment with node 0's result and salt.
        vm.prank(nodes[1]);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidReveal.selector, taskId, nodes[1]));
        taskManager.reveal(taskId, result, salt0);
        vm.prank(nodes[0]);
        taskManager.reveal(taskId, result, salt0);
    }

    /// Selection only ever uses one group whose VRAM is at least the minimum, or leaves the task queued when
    /// no such group has three available nodes.
    function testFuzz_selectionRespectsGroupAndVram(uint32 minVramSeed, uint8 smallCount, uint8 bigCount) public {
        uint32 minVram = 1 + (minVramSeed % 80);
        uint256 small = smallCount % 6;
        uint256 big = bigCount % 6;
        for (uint256 i; i < small; ++i) _join(i, GROUP_SMALL);
        for (uint256 i; i < big; ++i) _join(10 + i, GROUP_BIG);

        uint256 taskId = _createAndStart(minVram, 10 ether);
        ITaskManager.TaskInfo memory task = taskManager.getTask(taskId);
        bool smallEligible = small >= 3 && minVram <= 24;
        bool bigEligible = big >= 3 && minVram <= 80;
        if (!smallEligible && !bigEligible) {
            require(task.status == ITaskManager.TaskStatus.Queued, "started without an eligible group");
            return;
        }
        require(task.status == ITaskManager.TaskStatus.Committing, "not started although a group was eligible");
        for (uint256 k; k < 3; ++k) {
            INodeRegistry.NodeInfo memory info = registry.getNode(task.nodes[k]);
            require(info.groupId == task.groupId, "mixed groups");
            require(info.vramGb >= minVram, "not enough VRAM");
            require(info.status == INodeRegistry.NodeStatus.Busy, "selected node not busy");
            for (uint256 j; j < k; ++j) require(task.nodes[j] != task.nodes[k], "node drawn twice");
        }
    }

    /// A queued task's creator forfeits FORFEIT_BPS when it cancels or times out while some group still serves the
    /// task, and nothing when governance disabled the model or retired the groups that served it.
    function testFuzz_noForfeitWhenGovernanceLeavesNoGroup(uint96 feeSeed, uint8 action, bool cancel) public {
        uint256 fee = MIN_FEE + (uint256(feeSeed) % 1_000_000 ether);
        vm.prank(CREATOR);
        uint256 taskId = taskManager.createTask(keccak256("queued"), MODEL_SMALL, 16, fee);
        uint256 kind = action % 4;
        if (kind == 1) {
            registry.disableModel(GROUP_SMALL, MODEL_SMALL);
            registry.disableModel(GROUP_BIG, MODEL_SMALL);
        } else if (kind == 2) {
            registry.retireGroup(GROUP_SMALL);
            registry.retireGroup(GROUP_BIG);
        } else if (kind == 3) {
            registry.disableModel(GROUP_BIG, MODEL_SMALL); // the RTX 4090 group still serves it
        }
        bool served = kind == 0 || kind == 3;
        uint256 before = token.balanceOf(CREATOR);
        if (cancel) {
            vm.prank(CREATOR);
            taskManager.cancel(taskId);
        } else {
            vm.warp(block.timestamp + QUEUE_WINDOW + 1);
            taskManager.expire(taskId);
        }
        uint256 refund = served ? fee - (fee * taskManager.FORFEIT_BPS()) / 10_000 : fee;
        require(token.balanceOf(CREATOR) - before == refund, "wrong refund");
        require(token.balanceOf(TREASURY) == fee - refund, "wrong forfeit");
        require(token.balanceOf(address(taskManager)) == 0, "escrow left");
    }
}
