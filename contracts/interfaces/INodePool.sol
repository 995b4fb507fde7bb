// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title What the task manager needs from the node registry
/// @notice Restricted to the registry's TASK_MANAGER_ROLE.
interface INodePool {
    /// @notice Draws three distinct available nodes of one group with at least `minVramGb`, marks them busy
    /// with `taskId`. The group is drawn with probability proportional to its available count, then the
    /// nodes uniformly inside it. Returns found = false (and changes nothing) when no group has three.
    /// `groupIndex` is the group's position in the registry (stable: groups are never removed).
    function drawNodes(uint32 minVramGb, uint256 seed, uint256 taskId)
        external
        returns (bool found, uint8 groupIndex, bytes32 groupId, address[3] memory nodes);

    /// @notice The id of the group at `groupIndex` (as returned by drawNodes).
    function groupIdAt(uint256 groupIndex) external view returns (bytes32);

    /// @notice Ends `taskId` for the nodes whose bit is set in `activeMask` (bit i = nodes[i]): those also set
    /// in `slashMask` are slashed and removed, the others become available again or apply their pending
    /// pause/quit.
    function releaseNodes(address[3] calldata nodes, uint8 activeMask, uint8 slashMask, uint256 taskId) external;
}
