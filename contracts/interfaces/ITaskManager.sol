// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Triad task manager
/// @notice A task is a GPT task document stored off-chain (on the relay) and identified on-chain by the
/// keccak256 of its exact bytes. Three nodes of one group run it, commit to a result hash, reveal it,
/// and two or more matching reveals decide the result.
interface ITaskManager {
    enum TaskStatus {
        None,
        Queued, // fee escrowed, waiting for its random draw (randomness pending, or too few free nodes)
        Committing, // three nodes selected; waiting for their commitments
        Revealing, // all committed (or commit deadline passed with >= 2 commitments); waiting for reveals
        Succeeded, // >= 2 matching reveals; fee paid to the matching nodes
        Aborted // cancelled, expired, or no majority; fee refunded to the creator (less any forfeit)
    }

    enum AbortReason {
        None,
        Cancelled, // the creator cancelled while queued (forfeits FORFEIT_BPS of the fee, see below)
        QueueTimeout, // nobody could be selected before the queue deadline (forfeits FORFEIT_BPS of the fee, see below)
        TooFewCommitments, // fewer than two commitments by the commit deadline
        TooFewReveals, // fewer than two reveals by the reveal deadline
        NoMajority // two or three reveals, no two equal
    }

    struct TaskInfo {
        TaskStatus status;
        AbortReason abortReason;
        address creator;
        uint32 minVramGb;
        uint256 model; // index in the model registry (NodeRegistry.getModel): id, revision, files digest
        uint64 createdAt;
        uint64 deadline; // end of the current phase (queue, commit or reveal)
        bytes32 argsHash; // keccak256 of the task document's bytes
        bytes32 resultHash; // the decided result, once Succeeded
        uint256 groupId; // the nodes' group, once started
        uint256 fee;
        address[3] nodes;
    }

    error InvalidArgsHash();
    error InvalidVram();
    error UnknownModel(uint256 model);
    error ModelRetired(uint256 model);
    /// @notice No active group that enables the model has `minVramGb` (`servedVramGb`: the most one has, 0: none).
    error NoGroupForModel(uint256 model, uint32 minVramGb, uint32 servedVramGb);
    /// @notice `minVramGb` is below `modelVramGb`, the VRAM of the model's smallest variant: no variant fits it.
    error VramBelowModel(uint256 model, uint32 minVramGb, uint32 modelVramGb);
    error FeeTooLow(uint256 fee, uint256 minFee);
    /// @notice `fee` does not fit the task record (96 bits): `maxFee` is the largest fee a task can escrow.
    error FeeTooHigh(uint256 fee, uint256 maxFee);
    error QueueFull(uint256 maxQueueLength);
    error UnknownTask(uint256 taskId);
    error InvalidTaskStatus(uint256 taskId, TaskStatus status);
    error NotCreator(uint256 taskId, address caller);
    error RandomnessPending(uint256 taskId);
    error NotSelected(uint256 taskId, address caller);
    error DeadlinePassed(uint256 taskId, uint64 deadline);
    error NotExpired(uint256 taskId, uint64 deadline);
    error AlreadyCommitted(uint256 taskId, address node);
    error InvalidCommitment();
    error NotCommitted(uint256 taskId, address node);
    error AlreadyRevealed(uint256 taskId, address node);
    error InvalidReveal(uint256 taskId, address node);
    error NotRandomnessSource(address caller);
    /// @notice A dispatch's randomness request for `taskId` ran out of gas: the transaction needs a higher gas limit.
    error RandomnessRequestOutOfGas(uint256 taskId);
    error WrongNodePool(address nodePool, address wiredTaskManager);
    error InvalidWindow();
    error InvalidMinFee(uint256 minFee);
    error InvalidBps(uint256 bps);
    error InvalidQueueLength(uint256 length);
    error InvalidScan(uint256 scan);
    error ZeroAddress();

    /// @notice A task was created with its fee escrowed.
    event TaskCreated(uint256 indexed taskId, address indexed creator, bytes32 argsHash, uint256 model, uint32 minVramGb, uint256 fee);
    /// @notice A task waits in the queue for its random draw.
    event TaskQueued(uint256 indexed taskId, uint256 queueLength);
    /// @notice Three nodes of one group were drawn for a task; they commit before `commitDeadline`.
    event TaskStarted(uint256 indexed taskId, uint256 indexed groupId, address[3] nodes, uint64 commitDeadline);
    /// @notice A node committed to its result.
    event TaskCommitted(uint256 indexed taskId, address indexed node);
    /// @notice The commit phase ended; the committed nodes reveal before `revealDeadline`.
    event TaskRevealOpened(uint256 indexed taskId, uint64 revealDeadline);
    /// @notice A node revealed its result hash.
    event TaskRevealed(uint256 indexed taskId, address indexed node, bytes32 resultHash);
    /// @notice Two or more nodes revealed `resultHash`: it is the task's result.
    event TaskSucceeded(uint256 indexed taskId, bytes32 resultHash);
    /// @notice A task ended without a result; its fee went back to its creator (less any forfeit).
    event TaskAborted(uint256 indexed taskId, AbortReason reason);
    /// @notice A node of the majority was paid its share of the fee.
    event NodePaid(uint256 indexed taskId, address indexed node, uint256 amount);
    /// @notice Part of a task's fee went to the treasury because the task left the queue without running.
    event FeeForfeited(uint256 indexed taskId, uint256 amount);
    /// @notice Randomness was requested for a queued task's draw.
    event RandomnessRequested(uint256 indexed taskId, uint256 requestId);
    /// @notice The randomness source refused a request for a waiting task made by the dispatch a settlement, an
    /// expiry or createTask runs (`reason`: its revert data); the task keeps waiting, a later dispatch asks again,
    /// and its queue deadline refunds it.
    event RandomnessRequestFailed(uint256 indexed taskId, bytes reason);
    /// @notice A pushed random word arrived when no group could serve the task: it is thrown away (never kept
    /// for a later draw) and a fresh request is made once three nodes are free.
    event RandomnessDiscarded(uint256 indexed taskId);
    /// @notice No two reveals agreed: the three nodes and what each revealed (zero where it did not).
    event NoMajorityNodes(uint256 indexed taskId, address[3] nodes, bytes32[3] revealed, uint8 revealedMask);
    /// @notice The queue, commit and reveal windows changed (for tasks created afterwards).
    event WindowsSet(uint64 queueWindow, uint64 commitWindow, uint64 revealWindow);
    /// @notice The nodes' share of a fee changed (for tasks created afterwards).
    event NodeShareBpsSet(uint16 nodeShareBps);
    /// @notice The share of a stake a slash takes changed (for tasks created afterwards).
    event SlashBpsSet(uint16 slashBps);
    /// @notice The queue bound changed.
    event MaxQueueLengthSet(uint16 maxQueueLength);
    /// @notice How many queued tasks createTask and settlements examine changed.
    event AutoDispatchScanSet(uint8 autoDispatchScan);
    /// @notice The minimum task fee changed.
    event MinFeeSet(uint256 minFee);
    /// @notice The treasury changed.
    event TreasurySet(address treasury);

    /// @notice Escrows `fee` (transferFrom), queues a task and requests its randomness; it starts once the
    /// random word is drawn and three nodes of one group that enables `model` with at least `minVramGb` are free.
    /// Reverts with UnknownModel / ModelRetired for a model not registered or retired, VramBelowModel when
    /// `minVramGb` is below the VRAM of the model's smallest variant, and NoGroupForModel when no active group
    /// enabling the model has that much VRAM. `minVramGb` must cover the variant the task's dtype selects (nodes
    /// answer a task below it with a deterministic `invalid_task`). The task document's `model` field must be the
    /// registered id of `model`: nodes answer a mismatch with a deterministic error result.
    function createTask(bytes32 argsHash, uint256 model, uint32 minVramGb, uint256 fee) external returns (uint256 taskId);

    /// @notice Starts queued tasks whose randomness is available (pull source) or requests fresh randomness
    /// for tasks whose pushed word was discarded; expires queued tasks past their deadline on the way.
    /// `maxTasks` bounds the draws and requests made; expired entries do not count (anyone may call). A request
    /// the randomness source refuses reverts the call with the source's error.
    function dispatch(uint256 maxTasks) external;

    /// @notice The commitment a node submits: keccak256(abi.encode(taskId, node, resultHash, salt)).
    function commitmentOf(uint256 taskId, address node, bytes32 resultHash, bytes32 salt) external pure returns (bytes32);

    /// @notice Commits to a result without disclosing it.
    function commit(uint256 taskId, bytes32 commitment) external;

    /// @notice Opens the commitment; the last needed reveal settles the task.
    function reveal(uint256 taskId, bytes32 resultHash, bytes32 salt) external;

    /// @notice The creator cancels a queued task whose random word is neither pending nor known; the refund
    /// is the fee less FORFEIT_BPS, which goes to the treasury. A task no active group serves any more (governance
    /// disabled its model or retired its groups after creation) may be cancelled at any time, and it, like its
    /// queue timeout, refunds the whole fee.
    function cancel(uint256 taskId) external;

    /// @notice Advances a task whose current phase deadline has passed (anyone may call).
    function expire(uint256 taskId) external;

    /// @notice The task's on-chain record.
    function getTask(uint256 taskId) external view returns (TaskInfo memory);
}
