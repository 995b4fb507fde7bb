// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Triad node registry
/// @notice Nodes stake tokens and join a group of identical GPUs that governance created: the card model exactly
/// as the worker's device detection reports it, and its VRAM. Tasks are only ever given to three nodes of one
/// group, so honest nodes run the same kernels and produce byte-identical results.
interface INodeRegistry {
    enum NodeStatus {
        None, // never joined, or quit / kicked / slashed out
        Available, // idle, can be selected
        Busy, // running a task
        PendingPause, // busy; pauses when its task ends
        PendingQuit, // busy; quits (stake returned) when its task ends
        Paused // idle, not selectable, stake still locked
    }

    struct NodeInfo {
        NodeStatus status;
        uint32 vramGb;
        uint256 groupId;
        uint256 stake;
        uint256 taskId; // current task while Busy / Pending*, else 0
        string cardModel;
    }

    error AlreadyJoined(address node);
    error NotJoined(address node);
    error InvalidCardModel();
    error InvalidVram();
    error GroupLimitReached(uint256 maxGroups);
    error GroupExists(uint256 groupId);
    error UnknownGroup(uint256 groupId);
    error GroupRetired(uint256 groupId);
    error InvalidNodeStatus(address node, NodeStatus status);
    error NodeNotInTask(address node, uint256 taskId);
    error NotTaskManager(address caller);
    error InvalidStakeAmount();
    error ZeroAddress();

    event GroupAdded(uint256 indexed groupId, string cardModel, uint32 vramGb);
    event GroupRetirement(uint256 indexed groupId);
    event NodeJoined(address indexed node, uint256 indexed groupId, string cardModel, uint32 vramGb, uint256 stake);
    event NodePaused(address indexed node);
    event NodeResumed(address indexed node);
    event NodeQuit(address indexed node, uint256 stakeReturned);
    event NodeSlashed(address indexed node, uint256 indexed taskId, uint256 amount);
    event NodeKicked(address indexed node, uint256 stakeReturned);
    event NodeStatusChanged(address indexed node, NodeStatus status);
    event StakeAmountSet(uint256 stakeAmount);
    event TreasurySet(address treasury);

    /// @notice Joins group `groupId` (created by governance, not retired) with the configured stake
    /// (pulled with transferFrom).
    function join(uint256 groupId) external;

    /// @notice Stops being selected; a busy node pauses when its task ends.
    function pause() external;

    /// @notice Becomes selectable again after a pause.
    function resume() external;

    /// @notice Leaves and gets the stake back; a busy node leaves when its task ends.
    function quit() external;

    /// @notice The node's registry entry.
    function getNode(address node) external view returns (NodeInfo memory);

    /// @notice Number of available (selectable) nodes in a group.
    function availableCount(uint256 groupId) external view returns (uint256);

    /// @notice The stake a node must lock to join.
    function stakeAmount() external view returns (uint256);
}
