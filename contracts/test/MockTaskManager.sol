// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITaskManager} from "../interfaces/ITaskManager.sol";

/// @title Test double of the task manager's read side
/// @notice Serves `getTask` from records a test writes with `setTask`, so the relay can be tested without the
/// real task lifecycle. An id never set reads as an all-zero record (status None), like an unknown task.
contract MockTaskManager {
    mapping(uint256 => ITaskManager.TaskInfo) private tasks;

    function setTask(uint256 taskId, ITaskManager.TaskInfo calldata info) external {
        tasks[taskId] = info;
    }

    function getTask(uint256 taskId) external view returns (ITaskManager.TaskInfo memory) {
        return tasks[taskId];
    }
}
