// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Triad task manager
/// @notice A task is a GPT task document stored off-chain (on the relay) and identified on-chain by the
/// keccak256 of its exact bytes. Three nodes of one group run it, commit to a result hash, reveal it,
/// and two or more matching reveals decide the result.
interface ITaskManager {
    enum TaskStatus {
        None,
        Queued, // fee escrowed, waiting for selection (randomness not yet available or too few free nodes)
        Committing, // three nodes selected; waiting for their commitments
        Revealing, // all committed (or commit deadline passed with >= 2 commitments); waiting for reveals
        Succeeded, // >= 2 matching reveals; fee paid to the matching nodes
        Aborted // cancelled, expired, or no majority; fee refunded to the creator
    }

    enum AbortReason {
        None,
        Cancelled, // the creator cancelled while queued
        QueueTimeout, // nobody could be selected before the queue deadline
        TooFewCommitments, // fewer than two commitments by the commit deadline
        TooFewReveals, // fewer than two reveals by the reveal deadline
        NoMajority // two or three reveals, no two equal
    }

    struct TaskInfo {
        TaskStatus status;
        AbortReason abortReason;
        address creator;
        uint32 minVramGb;
        uint64 createdAt;
        uint64 deadline; // end of the current phase (queue, commit or reveal)
        bytes32 argsHash; // keccak256 of the task document's bytes
        bytes32 resultHash; // the decided result, once Succeeded
        bytes32 groupId;
        uint256 fee;
        address[3] nodes;
    }

    event TaskCreated(uint256 indexed taskId, address indexed creator, bytes32 argsHash, uint32 minVramGb, uint256 fee);
    event TaskQueued(uint256 indexed taskId, uint256 queueLength);
    event TaskStarted(uint256 indexed taskId, bytes32 indexed groupId, address[3] nodes, uint64 commitDeadline);
    event TaskCommitted(uint256 indexed taskId, address indexed node);
    event TaskRevealOpened(uint256 indexed taskId, uint64 revealDeadline);
    event TaskRevealed(uint256 indexed taskId, address indexed node, bytes32 resultHash);
    event TaskSucceeded(uint256 indexed taskId, bytes32 resultHash);
    event TaskAborted(uint256 indexed taskId, AbortReason reason);
    event NodePaid(uint256 indexed taskId, address indexed node, uint256 amount);

    /// @notice Escrows `fee` (transferFrom) and queues a task; it starts once randomness is available and
    /// three nodes of one group with at least `minVramGb` are free.
    function createTask(bytes32 argsHash, uint32 minVramGb, uint256 fee) external returns (uint256 taskId);

    /// @notice Selects nodes for queued tasks whose randomness is available (anyone may call).
    function dispatch(uint256 maxTasks) external;

    /// @notice The commitment a node submits: keccak256(abi.encode(taskId, node, resultHash, salt)).
    function commitmentOf(uint256 taskId, address node, bytes32 resultHash, bytes32 salt) external pure returns (bytes32);

    /// @notice Commits to a result without disclosing it.
    function commit(uint256 taskId, bytes32 commitment) external;

    /// @notice Opens the commitment; the last needed reveal settles the task.
    function reveal(uint256 taskId, bytes32 resultHash, bytes32 salt) external;

    /// @notice The creator cancels a queued task for a full refund.
    function cancel(uint256 taskId) external;

    /// @notice Advances a task whose current phase deadline has passed (anyone may call).
    function expire(uint256 taskId) external;

    /// @notice The task's on-chain record.
    function getTask(uint256 taskId) external view returns (TaskInfo memory);
}
