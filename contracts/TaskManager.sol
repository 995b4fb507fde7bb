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

    /// @dev Slot 0: status .. releasedMask; slot 1: createdAt .. requestId.
    /// `submissions[i]` holds node i's commitment and, once it revealed, its result hash; the decided result is
    /// `submissions[winner]` (not copied to a slot of its own: 22.1k gas saved per task).
    struct Task {
        TaskStatus status;
        AbortReason abortReason;
        address creator;
        uint32 minVramGb;
        uint8 committedMask;
        uint8 revealedMask;
        uint8 releasedMask;
        uint8 winner; // index of a node that revealed the decided result, once Succeeded
        uint8 groupIndex; // the registry's index of the nodes' group, once started (its id: nodePool.groupIdAt)
        uint64 createdAt;
        uint64 deadline;
        uint96 fee;
        uint32 requestId;
        bytes32 argsHash;
        address[3] nodes;
        bytes32[3] submissions;
    }

    /// @dev One slot of parameters read together.
    struct Params {
        uint64 queueWindow;
        uint64 commitWindow;
        uint64 revealWindow;
        uint16 nodeShareBps;
        uint16 maxQueueLength;
        uint8 autoDispatchScan;
    }

    struct QueueLink {
        uint64 prev;
        uint64 next;
    }

    IERC20 public immutable token;
    INodePool public immutable nodePool;
    IRandomnessSource public randomnessSource;
    /// @notice Receives the fee share not paid to nodes (and rounding dust).
    address public treasury;
    /// @notice Smallest accepted task fee.
    uint256 public minFee;
    /// @notice Fees held for tasks not yet settled or aborted.
    uint256 public totalEscrow;
    /// @notice Number of tasks created; task ids are 1 .. taskCount.
    uint256 public taskCount;

    Params private _params;
    mapping(uint256 => Task) private _tasks;
    mapping(uint256 => QueueLink) private _links;
    uint64 private _queueHead;
    uint64 private _queueTail;
    uint16 private _queueLength;

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
        if (fee < minFee) revert FeeTooLow(fee, minFee);
        Params memory p = _params;
        if (_queueLength >= p.maxQueueLength) revert QueueFull(p.maxQueueLength);

        taskId = ++taskCount;
        Task storage task = _tasks[taskId];
        task.status = TaskStatus.Queued;
        task.creator = msg.sender;
        task.minVramGb = minVramGb;
        task.createdAt = uint64(block.timestamp);
        task.deadline = uint64(block.timestamp) + p.queueWindow;
        task.fee = SafeCast.toUint96(fee);
        task.requestId = SafeCast.toUint32(randomnessSource.request());
        task.argsHash = argsHash;
        totalEscrow += fee;
        _enqueue(taskId);

        emit TaskCreated(taskId, msg.sender, argsHash, minVramGb, fee);
        emit TaskQueued(taskId, _queueLength);
        _dispatch(p.autoDispatchScan, p.commitWindow);
        token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc ITaskManager
    function cancel(uint256 taskId) external nonReentrant {
        Task storage task = _existingTask(taskId);
        if (task.creator != msg.sender) revert NotCreator(taskId, msg.sender);
        if (task.status != TaskStatus.Queued) revert InvalidTaskStatus(taskId, task.status);
        _unlink(taskId);
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
            _unlink(taskId);
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
        for (uint256 j; j < 3; ++j) {
            if (committed & (1 << j) != 0 && task.submissions[j] == commitment) revert DuplicateCommitment(taskId);
        }

        task.submissions[k] = commitment;
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
        if (task.committedMask & bit == 0) revert NotCommitted(taskId, msg.sender);
        uint8 revealed = task.revealedMask;
        if (revealed & bit != 0) revert AlreadyRevealed(taskId, msg.sender);
        if (commitmentOf(taskId, msg.sender, resultHash, salt) != task.submissions[k]) {
            revert InvalidReveal(taskId, msg.sender);
        }

        task.submissions[k] = resultHash;
        revealed |= bit;
        task.revealedMask = revealed;
        emit TaskRevealed(taskId, msg.sender, resultHash);
        if (revealed == task.committedMask) _settle(task, taskId);
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
        if (task.status == TaskStatus.Succeeded) info.resultHash = task.submissions[task.winner];
        if (task.nodes[0] != address(0)) info.groupId = nodePool.groupIdAt(task.groupIndex);
        info.fee = task.fee;
        info.nodes = task.nodes;
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
        ids = new uint256[](_queueLength);
        uint64 id = _queueHead;
        for (uint256 i; id != 0; ++i) {
            ids[i] = id;
            id = _links[id].next;
        }
    }

    /// @notice Number of queued tasks.
    function queueLength() external view returns (uint256) {
        return _queueLength;
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
    /// @param queueWindow Seconds a task may wait for nodes (> 0).
    /// @param commitWindow Seconds the selected nodes have to commit (> 0).
    /// @param revealWindow Seconds the committed nodes have to reveal (> 0).
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
    /// @param fee Token units.
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
        if (_queueLength != 0) revert QueueNotEmpty();
        _setRandomnessSource(source);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals: phases
    // ----------------------------------------------------------------------------------------------

    function _dispatch(uint256 maxExamined, uint64 commitWindow) private {
        uint64 id = _queueHead;
        IRandomnessSource source = randomnessSource;
        for (uint256 examined; id != 0 && examined < maxExamined; ++examined) {
            uint64 next = _links[id].next;
            Task storage task = _tasks[id];
            if (block.timestamp <= task.deadline) {
                uint256 requestId = task.requestId;
                if (source.isReady(requestId)) {
                    _tryStart(task, id, uint256(keccak256(abi.encode(source.randomness(requestId), id))), commitWindow);
                } else if (source.isStale(requestId)) {
                    uint256 fresh = source.request();
                    task.requestId = SafeCast.toUint32(fresh);
                    emit RandomnessRearmed(id, fresh);
                }
            }
            id = next;
        }
    }

    /// @dev Draws three nodes with `seed`; if a group can serve the task, starts its commit phase.
    function _tryStart(Task storage task, uint64 taskId, uint256 seed, uint64 commitWindow) private {
        (bool found, uint8 groupIndex, bytes32 groupId, address[3] memory nodes) =
            nodePool.drawNodes(task.minVramGb, seed, taskId);
        if (!found) return;
        _unlink(taskId);
        uint64 deadline = uint64(block.timestamp) + commitWindow;
        task.status = TaskStatus.Committing;
        task.deadline = deadline;
        task.groupIndex = groupIndex;
        task.nodes = nodes;
        emit TaskStarted(taskId, groupId, nodes, deadline);
    }

    function _openReveals(Task storage task, uint256 taskId) private {
        uint64 deadline = uint64(block.timestamp) + _params.revealWindow;
        task.status = TaskStatus.Revealing;
        task.deadline = deadline;
        emit TaskRevealOpened(taskId, deadline);
    }

    /// @dev Commit deadline passed. With fewer than two commitments nobody is blamed (missing task arguments
    /// or a broken relay look the same as lazy nodes) and the fee is refunded; otherwise the one node that
    /// did not commit while two others could is slashed and the reveal phase opens.
    function _closeCommits(Task storage task, uint256 taskId) private {
        uint8 committed = task.committedMask;
        if (_popcount(committed) < 2) {
            task.releasedMask = ALL_NODES;
            _abort(task, taskId, AbortReason.TooFewCommitments);
            nodePool.releaseNodes(task.nodes, ALL_NODES, 0, taskId);
            return;
        }
        uint8 silent = ALL_NODES & ~committed;
        task.releasedMask = silent;
        _openReveals(task, taskId);
        nodePool.releaseNodes(task.nodes, silent, silent, taskId);
    }

    /// @dev All committed nodes revealed, or the reveal deadline passed.
    function _settle(Task storage task, uint256 taskId) private {
        uint8 active = ALL_NODES & ~task.releasedMask;
        uint8 revealed = task.revealedMask;
        bytes32[3] memory results = task.submissions;
        (bool found, bytes32 majority) = _majority(results, revealed);

        address[3] memory nodes = task.nodes;
        uint256 fee = task.fee;
        task.releasedMask = ALL_NODES;
        if (found) {
            uint8 winners;
            uint256 winnerCount;
            for (uint256 k; k < 3; ++k) {
                if (revealed & (1 << k) != 0 && results[k] == majority) {
                    if (winners == 0) task.winner = uint8(k);
                    winners |= uint8(1 << k);
                    ++winnerCount;
                }
            }
            task.status = TaskStatus.Succeeded;
            totalEscrow -= fee;
            emit TaskSucceeded(taskId, majority);

            uint256 share = fee * _params.nodeShareBps / BPS / winnerCount;
            for (uint256 k; k < 3; ++k) {
                if (winners & (1 << k) != 0) emit NodePaid(taskId, nodes[k], share);
            }
            nodePool.releaseNodes(nodes, active, active & ~winners, taskId);
            _dispatch(_params.autoDispatchScan, _params.commitWindow);

            for (uint256 k; k < 3; ++k) {
                if (winners & (1 << k) != 0) token.safeTransfer(nodes[k], share);
            }
            uint256 rest = fee - share * winnerCount;
            if (rest != 0) token.safeTransfer(treasury, rest);
        } else {
            // No two equal reveals: the result cannot be attributed, so revealers are not slashed (see
            // docs/contracts.md); nodes that committed and then withheld their reveal are.
            uint8 withheld = active & task.committedMask & ~revealed;
            AbortReason reason = _popcount(revealed) < 2 ? AbortReason.TooFewReveals : AbortReason.NoMajority;
            if (reason == AbortReason.NoMajority) emit NoMajorityNodes(taskId, nodes, results, revealed);
            _abort(task, taskId, reason);
            nodePool.releaseNodes(nodes, active, withheld, taskId);
            _dispatch(_params.autoDispatchScan, _params.commitWindow);
        }
    }

    /// @dev Marks the task aborted and refunds the creator (last: the transfer is the interaction).
    function _abort(Task storage task, uint256 taskId, AbortReason reason) private {
        task.status = TaskStatus.Aborted;
        task.abortReason = reason;
        uint256 fee = task.fee;
        totalEscrow -= fee;
        emit TaskAborted(taskId, reason);
        token.safeTransfer(task.creator, fee);
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

    function _existingTask(uint256 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status == TaskStatus.None) revert UnknownTask(taskId);
    }

    function _nodeIndex(Task storage task, uint256 taskId, address node) private view returns (uint256) {
        for (uint256 k; k < 3; ++k) {
            if (task.nodes[k] == node) return k;
        }
        revert NotSelected(taskId, node);
    }

    function _enqueue(uint256 taskId) private {
        uint64 id = uint64(taskId);
        uint64 tail = _queueTail;
        if (tail == 0) _queueHead = id;
        else _links[tail].next = id;
        _links[id].prev = tail;
        _queueTail = id;
        ++_queueLength;
    }

    function _unlink(uint256 taskId) private {
        uint64 id = uint64(taskId);
        QueueLink memory link = _links[id];
        if (link.prev == 0) _queueHead = link.next;
        else _links[link.prev].next = link.next;
        if (link.next == 0) _queueTail = link.prev;
        else _links[link.next].prev = link.prev;
        delete _links[id];
        --_queueLength;
    }

    function _setWindows(uint64 queueWindow, uint64 commitWindow, uint64 revealWindow) private {
        if (queueWindow == 0 || commitWindow == 0 || revealWindow == 0) revert InvalidWindow();
        _params.queueWindow = queueWindow;
        _params.commitWindow = commitWindow;
        _params.revealWindow = revealWindow;
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
        minFee = fee;
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
