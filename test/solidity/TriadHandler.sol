// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {vm} from "./Vm.sol";
import {TriadToken} from "../../contracts/TriadToken.sol";
import {NodeRegistry} from "../../contracts/NodeRegistry.sol";
import {TaskManager} from "../../contracts/TaskManager.sol";
import {ITaskManager} from "../../contracts/interfaces/ITaskManager.sol";

/// @dev The actions the invariant fuzzer strings together: nodes join, pause, resume, quit; a creator creates
/// and cancels tasks; selected nodes commit honest or wrong results and reveal (or stay silent); anyone
/// dispatches and expires; time and blocks advance. Reverts are expected (random actions are often invalid)
/// and swallowed; the invariants are checked by the test contract.
contract TriadHandler {
    TriadToken public immutable token;
    NodeRegistry public immutable registry;
    TaskManager public immutable taskManager;
    address public immutable creator;
    address[] public actors;
    mapping(uint256 taskId => mapping(address node => bytes32 result)) public intended;
    /// @dev Started tasks already checked against the models their group enabled when drawn (before any change).
    mapping(uint256 taskId => bool) public drawChecked;
    bool public drawnOutsideModel;

    constructor(TriadToken token_, NodeRegistry registry_, TaskManager taskManager_, address creator_, address[] memory actors_) {
        token = token_;
        registry = registry_;
        taskManager = taskManager_;
        creator = creator_;
        actors = actors_;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function join(uint256 actorSeed, bool bigCard) external {
        address node = actors[actorSeed % actors.length];
        vm.prank(node);
        try registry.join(bigCard ? 1 : 0) {} catch {}
    }

    function pause(uint256 actorSeed) external {
        vm.prank(actors[actorSeed % actors.length]);
        try registry.pause() {} catch {}
    }

    function resume(uint256 actorSeed) external {
        vm.prank(actors[actorSeed % actors.length]);
        try registry.resume() {} catch {}
    }

    function quit(uint256 actorSeed) external {
        vm.prank(actors[actorSeed % actors.length]);
        try registry.quit() {} catch {}
    }

    function createTask(bool needsBigCard, uint64 feeSeed) external {
        uint256 fee = 1 ether + (uint256(feeSeed) % 100 ether);
        vm.prank(creator);
        bytes32 argsHash = keccak256(abi.encode(feeSeed, block.number));
        // Half the tasks name MODEL_BIG (TriadSetup: index 1, enabled on GROUP_BIG only; its smallest variant needs
        // 48 GB, so a task for it asks 48 or 64).
        uint256 model = (feeSeed / 2) % 2;
        uint32 minVramGb = model == 1 ? (needsBigCard ? 64 : 48) : (needsBigCard ? 48 : 16);
        try taskManager.createTask(argsHash, model, minVramGb, fee) {} catch {}
        vm.roll(block.number + 2);
    }

    /// @dev Governance changes which models the groups serve while tasks run: enable or disable model `modelSeed % 2`
    /// on group `groupSeed % 2` (reverts swallowed), activate pending models after the delay, or retire the model.
    function governModels(uint8 action, uint8 groupSeed, uint8 modelSeed) external {
        _checkDraws();
        uint256 groupId = groupSeed % 2;
        uint256 model = modelSeed % 2;
        if (action % 4 == 0) {
            try registry.enableModel(groupId, model) {} catch {}
        } else if (action % 4 == 1) {
            try registry.disableModel(groupId, model) {} catch {}
        } else if (action % 4 == 2) {
            vm.warp(block.timestamp + registry.MODEL_ACTIVATION_DELAY());
            try registry.activateModels(groupId) {} catch {}
        } else if (action % 16 == 3) {
            try registry.retireModel(model) {} catch {}
        }
    }

    /// @dev Checks the tasks started since the last model change: the models are still those of their draw.
    function _checkDraws() internal {
        uint256 count = taskManager.taskCount();
        for (uint256 taskId = 1; taskId <= count; ++taskId) {
            if (drawChecked[taskId]) continue;
            ITaskManager.TaskInfo memory task = taskManager.getTask(taskId);
            if (task.nodes[0] == address(0)) continue;
            drawChecked[taskId] = true;
            (uint64 enabled, , ) = registry.groupModels(task.groupId);
            if (enabled & (uint64(1) << uint8(task.model)) == 0) drawnOutsideModel = true;
        }
    }

    function cancel(uint256 taskSeed) external {
        uint256 taskId = _task(taskSeed);
        if (taskId == 0) return;
        vm.prank(creator);
        try taskManager.cancel(taskId) {} catch {}
    }

    function dispatch(uint8 maxTasks) external {
        try taskManager.dispatch((uint256(maxTasks) % 8) + 1) {} catch {}
    }

    /// @dev Commits for the nodes of an active task. `wrongPattern % 5`: 0..2 = that node commits a wrong
    /// result, 3 = all honest, 4 = all three differ. `silentPattern` picks who stays silent (see _silent).
    function commitEach(uint256 taskSeed, uint8 wrongPattern, uint8 silentPattern) external {
        uint256 taskId = _activeTask(taskSeed);
        if (taskId == 0) return;
        address[3] memory nodes = taskManager.getTask(taskId).nodes;
        uint8 silent = _silent(silentPattern);
        for (uint256 k; k < 3; ++k) {
            if (silent & (1 << k) != 0) continue;
            address node = nodes[k];
            bool wrong = wrongPattern % 5 == k || (wrongPattern % 5 == 4 && k != 0);
            bytes32 result = wrong ? keccak256(abi.encode("wrong", node)) : keccak256("right");
            bytes32 commitment = taskManager.commitmentOf(taskId, node, result, _salt(taskId, node));
            vm.prank(node);
            // Only an accepted commitment sets what the node intends: a refused one (already committed, phase over)
            // must not overwrite the result the node committed to.
            try taskManager.commit(taskId, commitment) {
                intended[taskId][node] = result;
            } catch {}
        }
    }

    /// @dev Reveals for the nodes of an active task except the silent ones (see _silent).
    function revealEach(uint256 taskSeed, uint8 silentPattern) external {
        uint256 taskId = _activeTask(taskSeed);
        if (taskId == 0) return;
        address[3] memory nodes = taskManager.getTask(taskId).nodes;
        uint8 silent = _silent(silentPattern);
        for (uint256 k; k < 3; ++k) {
            if (silent & (1 << k) != 0) continue;
            vm.prank(nodes[k]);
            try taskManager.reveal(taskId, intended[taskId][nodes[k]], _salt(taskId, nodes[k])) {} catch {}
        }
    }

    /// @dev Lets the current phase of a task run out, then expires it.
    function expireAfterDeadline(uint256 taskSeed) external {
        uint256 taskId = _task(taskSeed);
        if (taskId == 0) return;
        uint64 deadline = taskManager.getTask(taskId).deadline;
        if (block.timestamp <= deadline) vm.warp(uint256(deadline) + 1);
        try taskManager.expire(taskId) {} catch {}
    }

    function expire(uint256 taskSeed) external {
        uint256 taskId = _task(taskSeed);
        if (taskId == 0) return;
        try taskManager.expire(taskId) {} catch {}
    }

    function warp(uint16 seconds_) external {
        vm.warp(block.timestamp + (uint256(seconds_) % 400));
    }

    function roll(uint16 blocks) external {
        vm.roll(block.number + 1 + (uint256(blocks) % 300));
    }

    function _task(uint256 seed) private view returns (uint256) {
        uint256 count = taskManager.taskCount();
        return count == 0 ? 0 : (seed % count) + 1;
    }

    /// @dev The first task in Committing or Revealing at or after `seed` (cyclically), or 0.
    function _activeTask(uint256 seed) private view returns (uint256) {
        uint256 count = taskManager.taskCount();
        for (uint256 i; i < count; ++i) {
            uint256 taskId = ((seed + i) % count) + 1;
            ITaskManager.TaskStatus status = taskManager.getTask(taskId).status;
            if (status == ITaskManager.TaskStatus.Committing || status == ITaskManager.TaskStatus.Revealing) return taskId;
        }
        return 0;
    }

    /// @dev `pattern % 6`: 0..2 = that node is silent, 3 = nodes 0 and 1 are silent, 4..5 = nobody is.
    function _silent(uint8 pattern) private pure returns (uint8) {
        uint8 p = pattern % 6;
        if (p < 3) return uint8(1 << p);
        return p == 3 ? 3 : 0;
    }

    function _salt(uint256 taskId, address node) private pure returns (bytes32) {
        return keccak256(abi.encode("salt", taskId, node));
    }
}
