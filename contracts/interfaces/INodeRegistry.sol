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

    /// @notice Governance added a card group; nodes with that card and VRAM may join it.
    event GroupAdded(uint256 indexed groupId, string cardModel, uint32 vramGb);
    /// @notice Governance retired a card group: no new tasks reach it and its nodes may leave with their stakes.
    event GroupRetirement(uint256 indexed groupId);
    /// @notice A node staked and joined a card group.
    event NodeJoined(address indexed node, uint256 indexed groupId, string cardModel, uint32 vramGb, uint256 stake);
    /// @notice A node left selection (it keeps its stake).
    event NodePaused(address indexed node);
    /// @notice A paused node is selectable again.
    event NodeResumed(address indexed node);
    /// @notice A node left the registry with its stake.
    event NodeQuit(address indexed node, uint256 stakeReturned);
    /// @notice A node lost `amount` of its stake in task `taskId` (sent to the treasury).
    event NodeSlashed(address indexed node, uint256 indexed taskId, uint256 amount);
    /// @notice Governance removed an idle node; its stake went back to it.
    event NodeKicked(address indexed node, uint256 stakeReturned);
    /// @notice A node's status changed.
    event NodeStatusChanged(address indexed node, NodeStatus status);
    /// @notice The stake new nodes lock changed.
    event StakeAmountSet(uint256 stakeAmount);
    /// @notice The treasury changed.
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
