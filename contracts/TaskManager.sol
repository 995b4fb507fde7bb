// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";
import {INodePool} from "./interfaces/INodePool.sol";
import {IRandomnessSource} from "./interfaces/IRandomnessSource.sol";

/// @title Triad task manager
/// @notice Escrows task fees, queues tasks until their randomness is ready and three nodes of one group are
/// free, then runs commit-reveal among the three and pays the matching majority. Every phase has a deadline
/// after which anyone can call `expire`.
contract TaskManager is ITaskManager, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint16 public constant BPS = 10_000;
    /// @notice Hard cap for `maxQueueLength`.
    uint16 public constant MAX_QUEUE_CAP = 256;
    /// @notice Most queued tasks one `dispatch` call examines.
    uint256 public constant MAX_DISPATCH_SCAN = 64;
    uint8 private constant ALL_NODES = 7;

    error InvalidArgsHash();
    error InvalidVram();
    error FeeTooLow(uint256 fee, uint256 minFee);
    error QueueFull(uint256 maxQueueLength);
    error UnknownTask(uint256 taskId);
    error InvalidTaskStatus(uint256 taskId, TaskStatus status);
    error NotCreator(uint256 taskId, address caller);
    error NotSelected(uint256 taskId, address caller);
    error DeadlinePassed(uint256 taskId, uint64 deadline);
    error NotExpired(uint256 taskId, uint64 deadline);
    error AlreadyCommitted(uint256 taskId, address node);
    error DuplicateCommitment(uint256 taskId);
    error InvalidCommitment();
    error NotCommitted(uint256 taskId, address node);
    error AlreadyRevealed(uint256 taskId, address node);
    error InvalidReveal(uint256 taskId, address node);
    error InvalidWindow();
    error InvalidMinFee(uint256 minFee);
    error InvalidBps(uint256 bps);
    error InvalidQueueLength(uint256 length);
    error QueueNotEmpty();
    error ZeroAddress();

    event RandomnessRearmed(uint256 indexed taskId, uint256 requestId);
    event NoMajorityNodes(uint256 indexed taskId, address[3] nodes, bytes32[3] revealed, uint8 revealedMask);
    event WindowsSet(uint64 queueWindow, uint64 commitWindow, uint64 revealWindow);
    event NodeShareBpsSet(uint16 nodeShareBps);
    event MaxQueueLengthSet(uint16 maxQueueLength);
    event AutoDispatchScanSet(uint8 autoDispatchScan);
    event MinFeeSet(uint256 minFee);
    event TreasurySet(address treasury);
    event RandomnessSourceSet(address randomness);

    /// @dev Six slots, written as few times as possible (a zero slot's first write costs 22.1k gas):
    /// slot 0 holds everything a commit or reveal checks; slot 2 is written once at creation; the node
    /// addresses (480 bits) are packed into `nodesLow`/`nodesHigh`, which hold the queue links
    /// (prev: bits 0-31, next: bits 32-63 of `nodesLow`) while the task is queued. The nodes' commitments and
    /// reveals live in `_submissionOf` (one reused slot per node), so only the decided result gets a slot here.
    struct Task {
        TaskStatus status;
        AbortReason abortReason;
        uint8 committedMask;
        uint8 revealedMask;
        uint8 releasedMask;
        uint8 groupIndex; // the registry's index of the nodes' group, once started (its id: nodePool.groupIdAt)
        uint40 deadline;
        address creator;
        bytes32 argsHash;
        uint40 createdAt;
        uint32 minVramGb;
        uint96 fee;
        uint64 requestId;
        uint256 nodesLow; // nodes[0] | low 96 bits of nodes[1]; the queue links while queued
        uint256 nodesHigh; // high 64 bits of nodes[1] | nodes[2]; 0 until started
        bytes32 resultHash;
    }

    /// @dev One slot, never zero (the windows are > 0): parameters and the queue's ends, read together.
    struct Params {
        uint32 queueWindow;
        uint32 commitWindow;
        uint32 revealWindow;
        uint16 nodeShareBps;
        uint16 maxQueueLength;
        uint8 autoDispatchScan;
        uint32 queueHead;
        uint32 queueTail;
        uint16 queueLength;
    }

    /// @dev One slot, never zero once `minFee` > 0 or a task exists. `totalEscrow` cannot overflow: at most
    /// 2^32 tasks, each fee below 2^96.
    struct Ledger {
        uint32 taskCount;
        uint128 totalEscrow;
        uint96 minFee;
    }

    uint256 private constant LINK_MASK = type(uint32).max;

    IERC20 public immutable token;
    INodePool public immutable nodePool;
    IRandomnessSource public randomnessSource;
    /// @notice Receives the fee share not paid to nodes (and rounding dust).
    address public treasury;

    Params private _params;
    Ledger private _ledger;
    mapping(uint256 => Task) private _tasks;
    /// @dev A node's commitment for its current task, replaced by its result hash when it reveals. A node is in
    /// at most one task at a time and the task's masks say which entries belong to it, so the slot is reused
    /// from task to task (a non-zero to non-zero write: 5k gas instead of 22.1k).
    mapping(address => bytes32) private _submissionOf;

    /// @notice Deployment configuration.
    struct Config {
        IERC20 token;
        INodePool nodePool;
        IRandomnessSource randomness;
        address admin;
        address treasury;
        uint256 minFee;
        uint64 queueWindow;
        uint64 commitWindow;
        uint64 revealWindow;
        uint16 nodeShareBps;
        uint16 maxQueueLength;
        uint8 autoDispatchScan;
    }

    /// @param config Token, node pool, randomness source, admin, treasury and parameters.
    constructor(Config memory config) {
        if (
            address(config.token) == address(0) || address(config.nodePool) == address(0)
                || config.admin == address(0)
        ) revert ZeroAddress();
        token = config.token;
        nodePool = config.nodePool;
        _grantRole(DEFAULT_ADMIN_ROLE, config.admin);
        _setRandomnessSource(config.randomness);
        _setTreasury(config.treasury);
        _setMinFee(config.minFee);
        _setWindows(config.queueWindow, config.commitWindow, config.revealWindow);
        _setNodeShareBps(config.nodeShareBps);
        _setMaxQueueLength(config.maxQueueLength);
        _setAutoDispatchScan(config.autoDispatchScan);
    }

    // ----------------------------------------------------------------------------------------------
    // Creator
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function createTask(bytes32 argsHash, uint32 minVramGb, uint256 fee)
        external
        nonReentrant
        returns (uint256 taskId)
    {
        if (argsHash == bytes32(0)) revert InvalidArgsHash();
        if (minVramGb == 0) revert InvalidVram();
        Ledger memory ledger = _ledger;
        if (fee < ledger.minFee) revert FeeTooLow(fee, ledger.minFee);
        uint96 fee96 = SafeCast.toUint96(fee);
        Params memory p = _params;
        if (p.queueLength >= p.maxQueueLength) revert QueueFull(p.maxQueueLength);
        // Older tasks first. The new task is not examined: its randomness (a later block's hash, or a VRF
        // answer in a later transaction) cannot be ready in the transaction that requests it.
        _dispatch(p.autoDispatchScan, p.commitWindow);

        taskId = uint256(ledger.taskCount) + 1;
        _ledger = Ledger(SafeCast.toUint32(taskId), ledger.totalEscrow + fee96, ledger.minFee);
        uint40 now40 = _now();
        Task storage task = _tasks[taskId];
        task.status = TaskStatus.Queued;
        task.deadline = now40 + p.queueWindow;
        task.creator = msg.sender;
        task.argsHash = argsHash;
        task.createdAt = now40;
        task.minVramGb = minVramGb;
        task.fee = fee96;
        task.requestId = SafeCast.toUint64(randomnessSource.request());
        _enqueue(task, uint32(taskId));

        emit TaskCreated(taskId, msg.sender, argsHash, minVramGb, fee);
        emit TaskQueued(taskId, _params.queueLength);
        token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc ITaskManager
    function cancel(uint256 taskId) external nonReentrant {
        Task storage task = _existingTask(taskId);
        if (task.creator != msg.sender) revert NotCreator(taskId, msg.sender);
        if (task.status != TaskStatus.Queued) revert InvalidTaskStatus(taskId, task.status);
        _dequeue(task);
        _abort(task, taskId, AbortReason.Cancelled);
    }

    // ----------------------------------------------------------------------------------------------
    // Anyone
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    /// @dev Examines at most `maxTasks` (capped at MAX_DISPATCH_SCAN) queued tasks in creation order and starts
    /// every one whose randomness is ready and for which three nodes can be drawn.
    function dispatch(uint256 maxTasks) external nonReentrant {
        if (maxTasks > MAX_DISPATCH_SCAN) maxTasks = MAX_DISPATCH_SCAN;
        _dispatch(maxTasks, _params.commitWindow);
    }

    /// @inheritdoc ITaskManager
    function expire(uint256 taskId) external nonReentrant {
        Task storage task = _existingTask(taskId);
        TaskStatus status = task.status;
        if (status != TaskStatus.Queued && status != TaskStatus.Committing && status != TaskStatus.Revealing) {
            revert InvalidTaskStatus(taskId, status);
        }
        if (block.timestamp <= task.deadline) revert NotExpired(taskId, task.deadline);

        if (status == TaskStatus.Queued) {
            _dequeue(task);
            _abort(task, taskId, AbortReason.QueueTimeout);
        } else if (status == TaskStatus.Committing) {
            _closeCommits(task, taskId);
        } else {
            _settle(task, taskId);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Selected nodes
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function commit(uint256 taskId, bytes32 commitment) external nonReentrant {
        Task storage task = _existingTask(taskId);
        if (task.status != TaskStatus.Committing) revert InvalidTaskStatus(taskId, task.status);
        if (block.timestamp > task.deadline) revert DeadlinePassed(taskId, task.deadline);
        uint256 k = _nodeIndex(task, taskId, msg.sender);
        uint8 committed = task.committedMask;
        if (committed & (1 << k) != 0) revert AlreadyCommitted(taskId, msg.sender);
        if (commitment == bytes32(0)) revert InvalidCommitment();
        if (committed != 0) {
            address[3] memory nodes = _nodesOf(task);
            for (uint256 j; j < 3; ++j) {
                if (committed & (1 << j) != 0 && _submissionOf[nodes[j]] == commitment) {
                    revert DuplicateCommitment(taskId);
                }
            }
        }

        _submissionOf[msg.sender] = commitment;
        committed |= uint8(1 << k);
        task.committedMask = committed;
        emit TaskCommitted(taskId, msg.sender);
        if (committed == ALL_NODES) _openReveals(task, taskId);
    }

    /// @inheritdoc ITaskManager
    function reveal(uint256 taskId, bytes32 resultHash, bytes32 salt) external nonReentrant {
        Task storage task = _existingTask(taskId);
        if (task.status != TaskStatus.Revealing) revert InvalidTaskStatus(taskId, task.status);
        if (block.timestamp > task.deadline) revert DeadlinePassed(taskId, task.deadline);
        uint256 k = _nodeIndex(task, taskId, msg.sender);
        uint8 bit = uint8(1 << k);
        uint8 committed = task.committedMask;
        if (committed & bit == 0) revert NotCommitted(taskId, msg.sender);
        uint8 revealed = task.revealedMask;
        if (revealed & bit != 0) revert AlreadyRevealed(taskId, msg.sender);
        if (commitmentOf(taskId, msg.sender, resultHash, salt) != _submissionOf[msg.sender]) {
            revert InvalidReveal(taskId, msg.sender);
        }

        _submissionOf[msg.sender] = resultHash;
        revealed |= bit;
        task.revealedMask = revealed;
        emit TaskRevealed(taskId, msg.sender, resultHash);
        if (revealed == committed) _settle(task, taskId);
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function commitmentOf(uint256 taskId, address node, bytes32 resultHash, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, node, resultHash, salt));
    }

    /// @inheritdoc ITaskManager
    function getTask(uint256 taskId) external view returns (TaskInfo memory info) {
        Task storage task = _tasks[taskId];
        info.status = task.status;
        info.abortReason = task.abortReason;
        info.creator = task.creator;
        info.minVramGb = task.minVramGb;
        info.createdAt = task.createdAt;
        info.deadline = task.deadline;
        info.argsHash = task.argsHash;
        info.resultHash = task.resultHash;
        info.fee = task.fee;
        if (task.nodesHigh != 0) {
            info.nodes = _nodesOf(task);
            info.groupId = nodePool.groupIdAt(task.groupIndex);
        }
    }

    /// @notice Which of the task's nodes (bit i = nodes[i]) committed, revealed, and were already released.
    /// @param taskId The task.
    function taskProgress(uint256 taskId)
        external
        view
        returns (uint8 committedMask, uint8 revealedMask, uint8 releasedMask)
    {
        Task storage task = _tasks[taskId];
        return (task.committedMask, task.revealedMask, task.releasedMask);
    }

    /// @notice The randomness request id a queued task waits for.
    /// @param taskId The task.
    function requestIdOf(uint256 taskId) external view returns (uint256) {
        return _tasks[taskId].requestId;
    }

    /// @notice Queued task ids in creation order (at most MAX_QUEUE_CAP).
    function queuedTaskIds() external view returns (uint256[] memory ids) {
        Params memory p = _params;
        ids = new uint256[](p.queueLength);
        uint256 id = p.queueHead;
        for (uint256 i; id != 0; ++i) {
            ids[i] = id;
            id = (_tasks[id].nodesLow >> 32) & LINK_MASK;
        }
    }

    /// @notice Number of queued tasks.
    function queueLength() external view returns (uint256) {
        return _params.queueLength;
    }

    /// @notice Number of tasks created; task ids are 1 .. taskCount (at most 2^32 - 1).
    function taskCount() external view returns (uint256) {
        return _ledger.taskCount;
    }

    /// @notice Fees held for tasks not yet settled or aborted.
    function totalEscrow() external view returns (uint256) {
        return _ledger.totalEscrow;
    }

    /// @notice Smallest accepted task fee.
    function minFee() external view returns (uint256) {
        return _ledger.minFee;
    }

    /// @notice Current parameters.
    function params()
        external
        view
        returns (
            uint64 queueWindow,
            uint64 commitWindow,
            uint64 revealWindow,
            uint16 nodeShareBps,
            uint16 maxQueueLength,
            uint8 autoDispatchScan
        )
    {
        Params memory p = _params;
        return (p.queueWindow, p.commitWindow, p.revealWindow, p.nodeShareBps, p.maxQueueLength, p.autoDispatchScan);
    }

    // ----------------------------------------------------------------------------------------------
    // Parameters (DEFAULT_ADMIN_ROLE); apply to phases that start afterwards
    // ----------------------------------------------------------------------------------------------

    /// @notice Sets the queue, commit and reveal windows.
    /// @param queueWindow Seconds a task may wait for nodes (1 .. 2^32 - 1).
    /// @param commitWindow Seconds the selected nodes have to commit (1 .. 2^32 - 1).
    /// @param revealWindow Seconds the committed nodes have to reveal (1 .. 2^32 - 1).
    function setWindows(uint64 queueWindow, uint64 commitWindow, uint64 revealWindow)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setWindows(queueWindow, commitWindow, revealWindow);
    }

    /// @notice Sets the share of a fee paid to the matching nodes; the rest goes to the treasury.
    /// @param bps Basis points, 0..10000.
    function setNodeShareBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setNodeShareBps(bps);
    }

    /// @notice Sets the queue bound.
    /// @param length 1..MAX_QUEUE_CAP.
    function setMaxQueueLength(uint16 length) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxQueueLength(length);
    }

    /// @notice Sets how many queued tasks createTask and settlements examine for dispatch.
    /// @param scan 0..MAX_DISPATCH_SCAN.
    function setAutoDispatchScan(uint8 scan) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setAutoDispatchScan(scan);
    }

    /// @notice Sets the smallest accepted fee.
    /// @param fee Token units, below 2^96 (no fee can be larger).
    function setMinFee(uint256 fee) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinFee(fee);
    }

    /// @notice Sets the treasury.
    /// @param treasury_ Non-zero address.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    /// @notice Replaces the randomness source (e.g. by a VRF adapter); only while no task is queued, since
    /// queued tasks hold request ids of the current source.
    /// @param source The new source.
    function setRandomnessSource(IRandomnessSource source) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_params.queueLength != 0) revert QueueNotEmpty();
        _setRandomnessSource(source);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals: phases
    // ----------------------------------------------------------------------------------------------

    function _dispatch(uint256 maxExamined, uint32 commitWindow) private {
        uint256 id = _params.queueHead;
        if (id == 0 || maxExamined == 0) return;
        IRandomnessSource source = randomnessSource;
        for (uint256 examined; id != 0 && examined < maxExamined; ++examined) {
            Task storage task = _tasks[id];
            uint256 next = (task.nodesLow >> 32) & LINK_MASK;
            if (block.timestamp <= task.deadline) {
                uint256 requestId = task.requestId;
                if (source.isReady(requestId)) {
                    _tryStart(task, id, uint256(keccak256(abi.encode(source.randomness(requestId), id))), commitWindow);
                } else if (source.isStale(requestId)) {
                    uint256 fresh = source.request();
                    task.requestId = SafeCast.toUint64(fresh);
                    emit RandomnessRearmed(id, fresh);
                }
            }
            id = next;
        }
    }

    /// @dev Draws three nodes with `seed`; if a group can serve the task, starts its commit phase.
    function _tryStart(Task storage task, uint256 taskId, uint256 seed, uint32 commitWindow) private {
        (bool found, uint8 groupIndex, bytes32 groupId, address[3] memory nodes) =
            nodePool.drawNodes(task.minVramGb, seed, taskId);
        if (!found) return;
        _unlink(task);
        uint40 deadline = _now() + commitWindow;
        task.status = TaskStatus.Committing;
        task.deadline = deadline;
        task.groupIndex = groupIndex;
        // Overwrites the queue links.
        task.nodesLow = uint256(uint160(nodes[0])) | (uint256(uint160(nodes[1])) << 160);
        task.nodesHigh = (uint256(uint160(nodes[1])) >> 96) | (uint256(uint160(nodes[2])) << 64);
        emit TaskStarted(taskId, groupId, nodes, deadline);
    }

    function _openReveals(Task storage task, uint256 taskId) private {
        uint40 deadline = _now() + _params.revealWindow;
        task.status = TaskStatus.Revealing;
        task.deadline = deadline;
        emit TaskRevealOpened(taskId, deadline);
    }

    /// @dev Commit deadline passed. With fewer than two commitments nobody is blamed (missing task arguments
    /// or a broken relay look the same as lazy nodes) and the fee is refunded; otherwise the one node that
    /// did not commit while two others could is slashed and the reveal phase opens.
    function _closeCommits(Task storage task, uint256 taskId) private {
        uint8 committed = task.committedMask;
        address[3] memory nodes = _nodesOf(task);
        if (_popcount(committed) < 2) {
            task.releasedMask = ALL_NODES;
            uint96 refund = _markAborted(task, taskId, AbortReason.TooFewCommitments);
            nodePool.releaseNodes(nodes, ALL_NODES, 0, taskId);
            token.safeTransfer(task.creator, refund);
            return;
        }
        uint8 silent = ALL_NODES & ~committed;
        task.releasedMask = silent;
        _openReveals(task, taskId);
        nodePool.releaseNodes(nodes, silent, silent, taskId);
    }

    /// @dev All committed nodes revealed, or the reveal deadline passed.
    function _settle(Task storage task, uint256 taskId) private {
        uint8 active = ALL_NODES & ~task.releasedMask;
        uint8 revealed = task.revealedMask;
        address[3] memory nodes = _nodesOf(task);
        bytes32[3] memory results;
        for (uint256 k; k < 3; ++k) {
            if (revealed & (1 << k) != 0) results[k] = _submissionOf[nodes[k]];
        }
        (bool found, bytes32 majority) = _majority(results, revealed);
        task.releasedMask = ALL_NODES;
        if (found) {
            uint8 winners;
            for (uint256 k; k < 3; ++k) {
                if (revealed & (1 << k) != 0 && results[k] == majority) winners |= uint8(1 << k);
            }
            _succeed(task, taskId, nodes, majority, active, winners);
        } else {
            // No two equal reveals: the result cannot be attributed, so revealers are not slashed (see
            // docs/contracts.md); nodes that committed and then withheld their reveal are.
            uint8 withheld = active & task.committedMask & ~revealed;
            AbortReason reason = _popcount(revealed) < 2 ? AbortReason.TooFewReveals : AbortReason.NoMajority;
            if (reason == AbortReason.NoMajority) emit NoMajorityNodes(taskId, nodes, results, revealed);
            uint96 refund = _markAborted(task, taskId, reason);
            nodePool.releaseNodes(nodes, active, withheld, taskId);
            Params memory p = _params;
            _dispatch(p.autoDispatchScan, p.commitWindow);
            token.safeTransfer(task.creator, refund);
        }
    }

    /// @dev Pays the nodes that revealed the majority result (`winners`), slashes the other active ones.
    function _succeed(
        Task storage task,
        uint256 taskId,
        address[3] memory nodes,
        bytes32 majority,
        uint8 active,
        uint8 winners
    ) private {
        uint256 fee = task.fee;
        task.status = TaskStatus.Succeeded;
        task.resultHash = majority;
        _ledger.totalEscrow -= uint128(fee);
        emit TaskSucceeded(taskId, majority);

        Params memory p = _params;
        uint256 winnerCount = _popcount(winners);
        uint256 share = fee * p.nodeShareBps / BPS / winnerCount;
        for (uint256 k; k < 3; ++k) {
            if (winners & (1 << k) != 0) emit NodePaid(taskId, nodes[k], share);
        }
        nodePool.releaseNodes(nodes, active, active & ~winners, taskId);
        _dispatch(p.autoDispatchScan, p.commitWindow);

        for (uint256 k; k < 3; ++k) {
            if (winners & (1 << k) != 0) token.safeTransfer(nodes[k], share);
        }
        uint256 rest = fee - share * winnerCount;
        if (rest != 0) token.safeTransfer(treasury, rest);
    }

    /// @dev Marks the task aborted and refunds the creator (last: the transfer is the interaction).
    function _abort(Task storage task, uint256 taskId, AbortReason reason) private {
        uint96 fee = _markAborted(task, taskId, reason);
        token.safeTransfer(task.creator, fee);
    }

    /// @dev The effects of an abort; the caller refunds the returned fee to the creator after its other calls.
    function _markAborted(Task storage task, uint256 taskId, AbortReason reason) private returns (uint96 fee) {
        task.status = TaskStatus.Aborted;
        task.abortReason = reason;
        fee = task.fee;
        _ledger.totalEscrow -= fee;
        emit TaskAborted(taskId, reason);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals: helpers
    // ----------------------------------------------------------------------------------------------

    function _majority(bytes32[3] memory results, uint8 revealed) private pure returns (bool, bytes32) {
        for (uint256 i; i < 3; ++i) {
            if (revealed & (1 << i) == 0) continue;
            for (uint256 j = i + 1; j < 3; ++j) {
                if (revealed & (1 << j) != 0 && results[i] == results[j]) return (true, results[i]);
            }
        }
        return (false, bytes32(0));
    }

    function _popcount(uint8 mask) private pure returns (uint256) {
        return (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1);
    }

    function _now() private view returns (uint40) {
        return SafeCast.toUint40(block.timestamp);
    }

    function _existingTask(uint256 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status == TaskStatus.None) revert UnknownTask(taskId);
    }

    /// @dev The node addresses of a started task (see Task for the packing).
    function _nodesOf(Task storage task) private view returns (address[3] memory nodes) {
        uint256 low = task.nodesLow;
        uint256 high = task.nodesHigh;
        nodes[0] = address(uint160(low));
        nodes[1] = address(uint160((low >> 160) | (high << 96)));
        nodes[2] = address(uint160(high >> 64));
    }

    /// @dev Reads the second node slot only when the caller is not nodes[0].
    function _nodeIndex(Task storage task, uint256 taskId, address node) private view returns (uint256) {
        uint256 low = task.nodesLow;
        if (address(uint160(low)) == node) return 0;
        uint256 high = task.nodesHigh;
        if (address(uint160((low >> 160) | (high << 96))) == node) return 1;
        if (address(uint160(high >> 64)) == node) return 2;
        revert NotSelected(taskId, node);
    }

    /// @dev Appends to the queue; the links live in `nodesLow` (a fresh task's is zero: no previous task).
    function _enqueue(Task storage task, uint32 id) private {
        uint32 tail = _params.queueTail;
        if (tail == 0) {
            _params.queueHead = id;
        } else {
            _tasks[tail].nodesLow |= uint256(id) << 32;
            task.nodesLow = tail;
        }
        _params.queueTail = id;
        _params.queueLength += 1;
    }

    /// @dev Removes a task from the queue; its own links are left for the caller to overwrite or clear.
    function _unlink(Task storage task) private {
        uint256 link = task.nodesLow;
        uint32 prev = uint32(link);
        uint32 next = uint32(link >> 32);
        if (prev == 0) {
            _params.queueHead = next;
        } else {
            Task storage before = _tasks[prev];
            before.nodesLow = (before.nodesLow & ~(LINK_MASK << 32)) | (uint256(next) << 32);
        }
        if (next == 0) {
            _params.queueTail = prev;
        } else {
            Task storage after_ = _tasks[next];
            after_.nodesLow = (after_.nodesLow & ~LINK_MASK) | prev;
        }
        _params.queueLength -= 1;
    }

    /// @dev Removes a queued task that ends without starting; it keeps no nodes.
    function _dequeue(Task storage task) private {
        _unlink(task);
        if (task.nodesLow != 0) task.nodesLow = 0;
    }

    function _setWindows(uint64 queueWindow, uint64 commitWindow, uint64 revealWindow) private {
        if (
            queueWindow == 0 || commitWindow == 0 || revealWindow == 0 || queueWindow > type(uint32).max
                || commitWindow > type(uint32).max || revealWindow > type(uint32).max
        ) revert InvalidWindow();
        _params.queueWindow = uint32(queueWindow);
        _params.commitWindow = uint32(commitWindow);
        _params.revealWindow = uint32(revealWindow);
        emit WindowsSet(queueWindow, commitWindow, revealWindow);
    }

    function _setNodeShareBps(uint16 bps) private {
        if (bps > BPS) revert InvalidBps(bps);
        _params.nodeShareBps = bps;
        emit NodeShareBpsSet(bps);
    }

    function _setMaxQueueLength(uint16 length) private {
        if (length == 0 || length > MAX_QUEUE_CAP) revert InvalidQueueLength(length);
        _params.maxQueueLength = length;
        emit MaxQueueLengthSet(length);
    }

    function _setAutoDispatchScan(uint8 scan) private {
        if (scan > MAX_DISPATCH_SCAN) revert InvalidQueueLength(scan);
        _params.autoDispatchScan = scan;
        emit AutoDispatchScanSet(scan);
    }

    function _setMinFee(uint256 fee) private {
        if (fee > type(uint96).max) revert InvalidMinFee(fee);
        _ledger.minFee = uint96(fee);
        emit MinFeeSet(fee);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _setRandomnessSource(IRandomnessSource source) private {
        if (address(source) == address(0)) revert ZeroAddress();
        randomnessSource = source;
        emit RandomnessSourceSet(address(source));
    }
}
