// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Triad node registry
/// @notice Nodes stake tokens and join a group of identical GPUs. A group is the pair
/// (card model name, VRAM in GB): tasks are only ever given to three nodes of one group,
/// so honest nodes run the same kernels and produce byte-identical results.
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
        bytes32 groupId;
        uint256 stake;
        uint256 taskId; // current task while Busy / Pending*, else 0
        string cardModel;
    }

    event NodeJoined(address indexed node, bytes32 indexed groupId, string cardModel, uint32 vramGb, uint256 stake);
    event NodePaused(address indexed node);
    event NodeResumed(address indexed node);
    event NodeQuit(address indexed node, uint256 stakeReturned);
    event NodeSlashed(address indexed node, uint256 indexed taskId, uint256 amount);
    event NodeKicked(address indexed node, uint256 stakeReturned);
    event NodeStatusChanged(address indexed node, NodeStatus status);

    /// @notice Joins the network with the configured stake (pulled with transferFrom).
    function join(string calldata cardModel, uint32 vramGb) external;

    /// @notice Stops being selected; a busy node pauses when its task ends.
    function pause() external;

    /// @notice Becomes selectable again after a pause.
    function resume() external;

    /// @notice Leaves and gets the stake back; a busy node leaves when its task ends.
    function quit() external;

    /// @notice The node's registry entry.
    function getNode(address node) external view returns (NodeInfo memory);

    /// @notice The group id of a (card model, VRAM) pair.
    function groupIdOf(string calldata cardModel, uint32 vramGb) external pure returns (bytes32);

    /// @notice Number of available (selectable) nodes in a group.
    function availableCount(bytes32 groupId) external view returns (uint256);

    /// @notice The stake a node must lock to join.
    function stakeAmount() external view returns (uint256);
}
