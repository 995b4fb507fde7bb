// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {vm} from "./Vm.sol";
import {TriadSetup} from "./TriadSetup.sol";
import {TriadHandler} from "./TriadHandler.sol";
import {INodeRegistry} from "../../contracts/interfaces/INodeRegistry.sol";
import {ITaskManager} from "../../contracts/interfaces/ITaskManager.sol";

/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 60
contract TriadInvariantsTest is TriadSetup {
    TriadHandler internal handler;
    address internal constant CREATOR = address(0xC0FFEE);
    address[] internal actors;
    bytes32 internal constant RIGHT = keccak256("right");

    function setUp() public {
        _deployTriad(9_500, 16);
        for (uint160 i = 1; i <= 8; ++i) {
            address node = address(0x1000 + i);
            actors.push(node);
            token.mint(node, STAKE * 3);
            vm.prank(node);
            token.approve(address(registry), type(uint256).max);
        }
        token.mint(CREATOR, 1_000_000 ether);
        vm.prank(CREATOR);
        token.approve(address(taskManager), type(uint256).max);
        handler = new TriadHandler(token, registry, taskManager, CREATOR, actors);
        // The handler also plays governance for the model actions (enable, disable, activate, retire).
        registry.grantRole(registry.DEFAULT_ADMIN_ROLE(), address(handler));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Tokens are conserved: every token is in a known balance, the registry holds exactly the stakes and the
    /// task manager exactly the escrowed fees.
    function invariant_tokensConserved() public view {
        uint256 sum =
            token.balanceOf(CREATOR) +
                token.balanceOf(TREASURY) +
                token.balanceOf(address(registry)) +
                token.balanceOf(address(taskManager));
        for (uint256 i; i < actors.length; ++i) sum += token.balanceOf(actors[i]);
        require(sum == token.totalSupply(), "tokens leaked");
        require(token.balanceOf(address(registry)) == registry.totalStaked(), "registry holds more or less than the stakes");
        require(token.balanceOf(address(taskManager)) == taskManager.totalEscrow(), "task manager holds more or less than the escrow");
    }

    /// No node is in two tasks at once, and a node's recorded task is the one active task that holds it.
    function invariant_noNodeInTwoTasks() public view {
        uint256 count = taskManager.taskCount();
        for (uint256 i; i < actors.length; ++i) {
            address node = actors[i];
            uint256 activeTasks;
            uint256 activeTask;
            for (uint256 taskId = 1; taskId <= count; ++taskId) {
                if (_holds(taskId, node)) {
                    ++activeTasks;
                    activeTask = taskId;
                }
            }
            require(activeTasks <= 1, "node in two tasks");
            INodeRegistry.NodeInfo memory info = registry.getNode(node);
            bool busy =
                info.status == INodeRegistry.NodeStatus.Busy ||
                    info.status == INodeRegistry.NodeStatus.PendingPause ||
                    info.status == INodeRegistry.NodeStatus.PendingQuit;
            require(busy == (activeTasks == 1), "busy status disagrees with tasks");
            if (busy) require(info.taskId == activeTask, "node records the wrong task");
        }
    }

    /// A started task's nodes come from a group that enables the task's model (the chain's half of "a task reaches
    /// only nodes that hold its model"; the worker's half is verifying its files before joining or resuming).
    /// Governance changes models during the run: the handler checks the draws before each change, this the rest.
    function invariant_tasksDrawnOnlyFromGroupsEnablingTheirModel() public view {
        require(!handler.drawnOutsideModel(), "task drawn from a group without its model");
        uint256 count = taskManager.taskCount();
        for (uint256 taskId = 1; taskId <= count; ++taskId) {
            if (handler.drawChecked(taskId)) continue;
            ITaskManager.TaskInfo memory task = taskManager.getTask(taskId);
            if (task.nodes[0] == address(0)) continue;
            (uint64 enabled, , ) = registry.groupModels(task.groupId);
            require(enabled & (uint64(1) << uint8(task.model)) != 0, "task drawn from a group without its model");
        }
    }

    /// Once all deadlines pass, `expire` brings every task to a terminal state, frees every node and empties
    /// the escrow. Checked on a snapshot that is thrown away afterwards.
    function invariant_everyTaskTerminatesAfterDeadlines() public {
        uint256 snapshot = vm.snapshotState();
        uint256 count = taskManager.taskCount();
        for (uint256 round; round < 3; ++round) {
            vm.warp(block.timestamp + QUEUE_WINDOW + COMMIT_WINDOW + REVEAL_WINDOW + 1);
            for (uint256 taskId = 1; taskId <= count; ++taskId) {
                if (!_terminal(taskId)) taskManager.expire(taskId);
            }
        }
        for (uint256 taskId = 1; taskId <= count; ++taskId) require(_terminal(taskId), "task stuck");
        require(taskManager.totalEscrow() == 0, "escrow left after all tasks ended");
        require(taskManager.queueLength() == 0, "queue not empty after all tasks ended");
        for (uint256 i; i < actors.length; ++i) {
            INodeRegistry.NodeStatus status = registry.getNode(actors[i]).status;
            require(status != INodeRegistry.NodeStatus.Busy, "node stuck busy");
            require(
                status != INodeRegistry.NodeStatus.PendingPause && status != INodeRegistry.NodeStatus.PendingQuit,
                "node stuck pending"
            );
        }
        vm.revertToState(snapshot);
    }

    /// An honest node (committed the right result and revealed it in time) is never slashed in a task where
    /// at most one node was faulty (silent, late, wrong or withholding). Checked on wealth: an actor that was
    /// honest in every task it was drawn for, each with at most one faulty node, never holds less (balance plus
    /// stake) than it was given.
    function invariant_honestNodeNeverSlashedWithOneFault() public view {
        uint256 count = taskManager.taskCount();
        for (uint256 i; i < actors.length; ++i) {
            address actor = actors[i];
            bool exposed;
            for (uint256 taskId = 1; taskId <= count && !exposed; ++taskId) {
                ITaskManager.TaskInfo memory task = taskManager.getTask(taskId);
                if (task.nodes[2] == address(0)) continue; // never started
                (uint8 committed, uint8 revealed, ) = taskManager.taskProgress(taskId);
                uint256 faulty;
                bool drawn;
                bool honest;
                for (uint256 k; k < 3; ++k) {
                    bool good = committed & revealed & (1 << k) != 0 && handler.intended(taskId, task.nodes[k]) == RIGHT;
                    if (!good) ++faulty;
                    if (task.nodes[k] == actor) (drawn, honest) = (true, good);
                }
                if (drawn && (!honest || faulty > 1)) exposed = true;
            }
            if (exposed) continue;
            uint256 wealth = token.balanceOf(actor) + registry.getNode(actor).stake;
            require(wealth >= STAKE * 3, "an honest node was slashed in a task with at most one faulty node");
        }
    }

    function _terminal(uint256 taskId) private view returns (bool) {
        ITaskManager.TaskStatus status = taskManager.getTask(taskId).status;
        return status == ITaskManager.TaskStatus.Succeeded || status == ITaskManager.TaskStatus.Aborted;
    }

    function _holds(uint256 taskId, address node) private view returns (bool) {
        ITaskManager.TaskInfo memory task = taskManager.getTask(taskId);
        if (task.status != ITaskManager.TaskStatus.Committing && task.status != ITaskManager.TaskStatus.Revealing) return false;
        (, , uint8 released) = taskManager.taskProgress(taskId);
        for (uint256 k; k < 3; ++k) {
            if (task.nodes[k] == node && released & (1 << k) == 0) return true;
        }
        return false;
    }
}
