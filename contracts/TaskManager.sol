// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";
import {INodePool} from "./interfaces/INodePool.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IRandomnessConsumer, IRandomnessSource} from "./interfaces/IRandomnessSource.sol";
import {NodeTriple} from "./libraries/NodeTriple.sol";
import {TaskQueue, TaskQueueLib} from "./libraries/TaskQueue.sol";

/// @title Triad task manager
/// @notice Escrows task fees, queues tasks until their random draw, runs commit-reveal among the three drawn
/// nodes and pays the matching majority. With a push source (VRF) the draw happens inside the transaction that
/// delivers the random word; a word that finds no three free nodes is discarded and a fresh one requested once
/// nodes are free. Fee split and slash ratio are fixed into the task at creation. Every phase has a deadline
/// after which anyone can call `expire`.
contract TaskManager is ITaskManager, IRandomnessConsumer, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Basis points in a whole.
    uint16 public constant BPS = 10_000;
    /// @notice Share of the fee a creator forfeits to the treasury when it cancels or its task times out in
    /// the queue: holding a queue slot is never free. Waived when governance left no group serving the task.
    uint16 public constant FORFEIT_BPS = 1_000;
    /// @notice Hard cap for `maxQueueLength`.
    uint16 public constant MAX_QUEUE_CAP = 256;
    /// @notice Most queued tasks one `dispatch` call examines (its gas bound).
    uint256 public constant MAX_DISPATCH_SCAN = 64;
    uint8 private constant ALL_NODES = 7;

    /// @dev Six slots, written as few times as possible (a zero slot's first write costs 22.1k gas):
    /// slot 0 holds everything a commit or reveal checks; slots 1-2 are written once at creation (with the fee
    /// split and slash ratio in force then, and the model); `nodes` holds the task's TaskQueue links while it is
    /// queued. Commitments and reveals live in `_submissionOf`.
    struct Task {
        TaskStatus status;
        AbortReason abortReason;
        uint8 committedMask;
        uint8 revealedMask;
        uint8 releasedMask;
        uint8 groupId;
        uint40 deadline;
        address creator;
        bytes32 argsHash;
        uint40 createdAt;
        uint32 minVramGb;
        uint96 fee;
        uint40 requestId; // pull source: the request to read; push source: 1 while a word is pending, else 0
        uint16 nodeShareBps;
        uint16 slashBps;
        uint8 model;
        NodeTriple nodes;
        bytes32 resultHash;
    }

    /// @dev One slot, never zero (the windows are > 0): parameters and the queue's ends, read together.
    struct Params {
        uint32 queueWindow;
        uint32 commitWindow;
        uint32 revealWindow;
        uint16 nodeShareBps;
        uint16 slashBps;
        uint16 maxQueueLength;
        uint8 autoDispatchScan;
        TaskQueue queue;
    }

    /// @dev One slot, never zero once `minFee` > 0 or a task exists.
    struct Ledger {
        uint32 taskCount;
        uint128 totalEscrow;
        uint96 minFee;
    }

    /// @notice The token stakes and fees are paid in.
    IERC20 public immutable token;
    /// @notice The node registry tasks draw their three nodes from.
    INodePool public immutable nodePool;
    /// @notice Fixed at construction: replacing it would let whoever replaces it choose the nodes.
    IRandomnessSource public immutable randomnessSource;
    bool private immutable _pushRandomness;
    /// @notice Receives the fee share not paid to nodes, forfeits and rounding dust.
    address public treasury;

    Params private _params;
    Ledger private _ledger;
    mapping(uint256 taskId => Task) private _tasks;
    /// @dev A node's commitment for its current task, replaced by its result hash when it reveals; reused from
    /// task to task (a non-zero to non-zero write: 5k gas instead of 22.1k).
    mapping(address node => bytes32 submission) private _submissionOf;

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
        uint16 slashBps;
        uint16 maxQueueLength;
        uint8 autoDispatchScan;
    }

    /// @param config Token, node pool (wired to this contract), randomness source, admin, treasury, parameters.
    constructor(Config memory config) {
        if (
            address(config.token) == address(0) ||
            address(config.nodePool) == address(0) ||
            address(config.randomness) == address(0) ||
            config.admin == address(0)
        ) revert ZeroAddress();
        address wired = config.nodePool.taskManager();
        if (wired != address(this)) revert WrongNodePool(address(config.nodePool), wired);
        token = config.token;
        nodePool = config.nodePool;
        randomnessSource = config.randomness;
        _pushRandomness = config.randomness.pushes();
        _grantRole(DEFAULT_ADMIN_ROLE, config.admin);
        _setTreasury(config.treasury);
        _setMinFee(config.minFee);
        _setWindows(config.queueWindow, config.commitWindow, config.revealWindow);
        _setNodeShareBps(config.nodeShareBps);
        _setSlashBps(config.slashBps);
        _setMaxQueueLength(config.maxQueueLength);
        _setAutoDispatchScan(config.autoDispatchScan);
    }

    // ----------------------------------------------------------------------------------------------
    // Creator
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function createTask(bytes32 argsHash, uint256 model, uint32 minVramGb, uint256 fee) external nonReentrant returns (uint256 taskId) {
        if (argsHash == bytes32(0)) revert InvalidArgsHash();
        if (minVramGb == 0) revert InvalidVram();
        (IModelRegistry.ModelStatus modelStatus, uint32 modelVram, uint32 servedVram) = nodePool.modelDemand(model);
        if (modelStatus == IModelRegistry.ModelStatus.None) revert UnknownModel(model);
        if (modelStatus == IModelRegistry.ModelStatus.Retired) revert ModelRetired(model);
        if (minVramGb < modelVram) revert VramBelowModel(model, minVramGb, modelVram);
        if (minVramGb > servedVram) revert NoGroupForModel(model, minVramGb, servedVram);
        Ledger memory ledger = _ledger;
        if (fee < ledger.minFee) revert FeeTooLow(fee, ledger.minFee);
        if (fee > type(uint96).max) revert FeeTooHigh(fee, type(uint96).max);
        uint96 fee96 = uint96(fee);
        Params memory p = _params;
        // Older tasks first; expired ones leave the queue on the way, so they never make it look full.
        _dispatch(p.autoDispatchScan, p.autoDispatchScan, p.commitWindow, false);
        p = _params;
        if (p.queue.length() >= p.maxQueueLength) revert QueueFull(p.maxQueueLength);

        taskId = uint256(ledger.taskCount) + 1;
        // Re-read: the dispatch above may have aborted tasks and released their escrow.
        _ledger = Ledger(SafeCast.toUint32(taskId), _ledger.totalEscrow + fee96, ledger.minFee);
        // The source is immutable and cannot call back into this transaction (nonReentrant); asking it before the
        // task's slots are written lets the request id join the slot-2 write.
        Task storage task = _storeTask(taskId, argsHash, uint8(model), minVramGb, fee96, p, _requestId(taskId));
        TaskQueue queue = p.queue.enqueue(uint32(taskId), task.nodes, _linksOf);
        _params.queue = queue;

        emit TaskCreated(taskId, msg.sender, argsHash, model, minVramGb, fee);
        emit TaskQueued(taskId, queue.length());
        token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc ITaskManager
    /// @dev Refused while the random word is pending (push) or readable (pull): a creator who could see its
    /// draw coming could otherwise cancel and re-create until its own nodes are drawn. A task that governance made
    /// unservable cannot be drawn at all, so nothing is re-rolled: it may always be cancelled, and forfeits nothing.
    function cancel(uint256 taskId) external nonReentrant {
        Task storage task = _existingTask(taskId);
        if (task.creator != msg.sender) revert NotCreator(taskId, msg.sender);
        if (task.status != TaskStatus.Queued) revert InvalidTaskStatus(taskId, task.status);
        bool served = _stillServed(task);
        if (served && (_pushRandomness ? task.requestId != 0 : randomnessSource.isReady(task.requestId))) {
            revert RandomnessPending(taskId);
        }
        _dequeue(task);
        _abortQueued(task, taskId, AbortReason.Cancelled, served);
    }

    // ----------------------------------------------------------------------------------------------
    // Anyone
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    function dispatch(uint256 maxTasks) external nonReentrant {
        _dispatch(maxTasks, MAX_DISPATCH_SCAN, _params.commitWindow, true);
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
            _abortQueued(task, taskId, AbortReason.QueueTimeout, _stillServed(task));
        } else if (status == TaskStatus.Committing) {
            _closeCommits(task, taskId);
        } else {
            _settle(task, taskId);
        }
    }

    /// @inheritdoc IRandomnessConsumer
    /// @dev Never reverts for a delivery from the source: a word for a task that is no longer waiting is ignored,
    /// and a word that finds no three free nodes is discarded (the next dispatch requests a fresh one).
    function onRandomness(uint256 taskId, uint256 randomWord) external nonReentrant {
        if (msg.sender != address(randomnessSource)) revert NotRandomnessSource(msg.sender);
        Task storage task = _tasks[taskId];
        if (task.status != TaskStatus.Queued || task.requestId == 0 || block.timestamp > task.deadline) return;
        task.requestId = 0;
        if (!_tryStart(task, taskId, uint256(keccak256(abi.encode(randomWord, taskId))), _params.commitWindow)) {
            emit RandomnessDiscarded(taskId);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Selected nodes
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc ITaskManager
    /// @dev No check against the other nodes' commitments: the node address inside the commitment already
    /// stops a copied commitment from being opened, and a check would let a copier block the honest commit.
    function commit(uint256 taskId, bytes32 commitment) external nonReentrant {
        Task storage task = _existingTask(taskId);
        if (task.status != TaskStatus.Committing) revert InvalidTaskStatus(taskId, task.status);
        if (block.timestamp > task.deadline) revert DeadlinePassed(taskId, task.deadline);
        uint256 k = _nodeIndex(task, taskId, msg.sender);
        uint8 committed = task.committedMask;
        if (committed & (1 << k) != 0) revert AlreadyCommitted(taskId, msg.sender);
        if (commitment == bytes32(0)) revert InvalidCommitment();

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
    function commitmentOf(uint256 taskId, address node, bytes32 resultHash, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(taskId, node, resultHash, salt));
    }

    /// @inheritdoc ITaskManager
    function getTask(uint256 taskId) external view returns (TaskInfo memory info) {
        Task storage task = _tasks[taskId];
        info.status = task.status;
        info.abortReason = task.abortReason;
        info.creator = task.creator;
        info.minVramGb = task.minVramGb;
        info.model = task.model;
        info.createdAt = task.createdAt;
        info.deadline = task.deadline;
        info.argsHash = task.argsHash;
        info.resultHash = task.resultHash;
        info.fee = task.fee;
        if (task.nodes.isSet()) {
            info.nodes = task.nodes.load();
            info.groupId = task.groupId;
        }
    }

    /// @notice Which of the task's nodes (bit i = nodes[i]) committed, revealed, and were already released.
    /// @param taskId The task.
    function taskProgress(uint256 taskId) external view returns (uint8 committedMask, uint8 revealedMask, uint8 releasedMask) {
        Task storage task = _tasks[taskId];
        return (task.committedMask, task.revealedMask, task.releasedMask);
    }

    /// @notice The fee split and slash ratio fixed into the task at creation.
    /// @param taskId The task.
    function taskTerms(uint256 taskId) external view returns (uint16 nodeShareBps, uint16 slashBps) {
        Task storage task = _tasks[taskId];
        return (task.nodeShareBps, task.slashBps);
    }

    /// @notice A queued task's randomness request: pull source, the id to read; push source, 1 while a word is
    /// pending and 0 when a fresh request is due.
    /// @param taskId The task.
    function requestIdOf(uint256 taskId) external view returns (uint256) {
        return _tasks[taskId].requestId;
    }

    /// @notice Whether the randomness source calls back (VRF) rather than being read (block hash).
    function pushRandomness() external view returns (bool) {
        return _pushRandomness;
    }

    /// @notice Queued task ids in creation order (at most MAX_QUEUE_CAP).
    function queuedTaskIds() external view returns (uint256[] memory ids) {
        Params memory p = _params;
        ids = new uint256[](p.queue.length());
        uint256 id = p.queue.head();
        for (uint256 i; id != 0; ++i) {
            ids[i] = id;
            id = TaskQueueLib.next(_tasks[id].nodes);
        }
    }

    /// @notice Number of queued tasks.
    function queueLength() external view returns (uint256) {
        return _params.queue.length();
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

    /// @notice Current parameters (the fee split and slash ratio apply to tasks created from now on).
    function params()
        external
        view
        returns (
            uint64 queueWindow,
            uint64 commitWindow,
            uint64 revealWindow,
            uint16 nodeShareBps,
            uint16 maxQueueLength,
            uint8 autoDispatchScan,
            uint16 slashBps
        )
    {
        Params memory p = _params;
        return (p.queueWindow, p.commitWindow, p.revealWindow, p.nodeShareBps, p.maxQueueLength, p.autoDispatchScan, p.slashBps);
    }

    // ----------------------------------------------------------------------------------------------
    // Parameters (DEFAULT_ADMIN_ROLE); apply to tasks created (windows: phases started) afterwards
    // ----------------------------------------------------------------------------------------------

    /// @notice Sets the queue, commit and reveal windows.
    /// @param queueWindow Seconds a task may wait for nodes (1 .. 2^32 - 1).
    /// @param commitWindow Seconds the selected nodes have to commit (1 .. 2^32 - 1).
    /// @param revealWindow Seconds the committed nodes have to reveal (1 .. 2^32 - 1).
    function setWindows(uint64 queueWindow, uint64 commitWindow, uint64 revealWindow) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setWindows(queueWindow, commitWindow, revealWindow);
    }

    /// @notice Sets the share of a fee paid to the matching nodes of tasks created from now on.
    /// @param bps Basis points, 0..10000.
    function setNodeShareBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setNodeShareBps(bps);
    }

    /// @notice Sets the share of a slashed node's stake taken, for tasks created from now on.
    /// @param bps Basis points, 1..10000.
    function setSlashBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSlashBps(bps);
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

    // ----------------------------------------------------------------------------------------------
    // Internals: phases
    // ----------------------------------------------------------------------------------------------

    /// @dev Walks the queue from the oldest task, examining at most `maxExamined` entries: expires the ones past
    /// their deadline (not counted against `maxActions`), starts those whose pulled randomness is ready and
    /// finds three nodes, re-arms stale pull requests, and (push source) requests a fresh word for at most one
    /// task whose last word was discarded, once nodes for it are free. Stops after `maxActions` of those.
    /// `strict` (the `dispatch` entry point): a request the source refuses reverts; otherwise it is reported.
    function _dispatch(uint256 maxActions, uint256 maxExamined, uint32 commitWindow, bool strict) private {
        uint256 id = _params.queue.head();
        if (maxExamined > MAX_DISPATCH_SCAN) maxExamined = MAX_DISPATCH_SCAN;
        uint256 actions;
        bool requested;
        for (uint256 examined; id != 0 && examined < maxExamined && actions < maxActions; ++examined) {
            Task storage task = _tasks[id];
            uint256 next = TaskQueueLib.next(task.nodes);
            if (block.timestamp > task.deadline) {
                _dequeue(task);
                _abortQueued(task, id, AbortReason.QueueTimeout, _stillServed(task));
            } else if (_pushRandomness) {
                if (task.requestId == 0 && !requested && nodePool.canDraw(task.model, task.minVramGb)) {
                    requested = true;
                    ++actions;
                    _request(task, id, strict);
                }
            } else {
                uint256 requestId = task.requestId;
                if (randomnessSource.isReady(requestId)) {
                    uint256 seed = uint256(keccak256(abi.encode(randomnessSource.randomness(requestId), id)));
                    if (_tryStart(task, id, seed, commitWindow)) ++actions;
                } else if (randomnessSource.isStale(requestId)) {
                    ++actions;
                    _request(task, id, strict);
                }
            }
            id = next;
        }
    }

    /// @dev Writes a new queued task (three fresh slots, each written once). `model` is registered, hence < MAX_MODELS.
    function _storeTask(
        uint256 taskId,
        bytes32 argsHash,
        uint8 model,
        uint32 minVramGb,
        uint96 fee,
        Params memory p,
        uint40 requestId
    ) private returns (Task storage task) {
        uint40 now40 = _now();
        task = _tasks[taskId];
        task.status = TaskStatus.Queued;
        task.deadline = now40 + p.queueWindow;
        task.creator = msg.sender;
        task.argsHash = argsHash;
        task.createdAt = now40;
        task.minVramGb = minVramGb;
        task.fee = fee;
        task.nodeShareBps = p.nodeShareBps;
        task.slashBps = p.slashBps;
        task.model = model;
        task.requestId = requestId;
    }

    /// @dev A fresh request for a waiting task, made inside a dispatch. `dispatch` itself (`strict`) reverts with the
    /// source's error: its caller sees it, and a worker's simulation does not send a transaction that does nothing.
    /// Settlements and expiries also run a dispatch, and a source that refuses (a VRF subscription that dropped the
    /// adapter, a coordinator reconfigured) must not revert them: there the refusal is reported and the task keeps
    /// waiting (a later dispatch retries; `expire` refunds it).
    /// A request that failed for lack of gas reverts the transaction instead, so that neither a caller nor a gas
    /// estimate (the cheapest limit that succeeds) can starve requests while the settlement goes through. (With
    /// today's sources the work after the call already needs more than what an out-of-gas call leaves; a source
    /// with a costlier request would open that window.) A call that runs out of gas leaves this frame 1/64 of its
    /// gas, plus about 1/64 per nested call that also ran out; a refusal leaves nearly all. Under 1/8 = out of gas.
    function _request(Task storage task, uint256 taskId, bool strict) private {
        if (strict) {
            task.requestId = _requestId(taskId);
            return;
        }
        uint256 gasBefore = gasleft();
        try randomnessSource.request(taskId) returns (uint256 requestId) {
            emit RandomnessRequested(taskId, requestId);
            task.requestId = _pushRandomness ? 1 : SafeCast.toUint40(requestId);
        } catch (bytes memory reason) {
            if (gasleft() < gasBefore / 8) revert RandomnessRequestOutOfGas(taskId);
            emit RandomnessRequestFailed(taskId, reason);
        }
    }

    /// @dev Requests a word for `taskId`; returns what the task records (see `requestIdOf`).
    function _requestId(uint256 taskId) private returns (uint40) {
        uint256 requestId = randomnessSource.request(taskId);
        emit RandomnessRequested(taskId, requestId);
        return _pushRandomness ? 1 : SafeCast.toUint40(requestId);
    }

    /// @dev Draws three nodes with `seed`; if a group can serve the task, starts its commit phase.
    function _tryStart(Task storage task, uint256 taskId, uint256 seed, uint32 commitWindow) private returns (bool) {
        (bool found, uint8 groupId, address[3] memory nodes) = nodePool.drawNodes(task.model, task.minVramGb, seed, taskId);
        if (!found) return false;
        _params.queue = _params.queue.remove(task.nodes, _linksOf);
        uint40 deadline = _now() + commitWindow;
        task.status = TaskStatus.Committing;
        task.deadline = deadline;
        task.groupId = groupId;
        task.nodes.store(nodes); // overwrites the queue links
        emit TaskStarted(taskId, groupId, nodes, deadline);
        return true;
    }

    function _openReveals(Task storage task, uint256 taskId) private {
        uint40 deadline = _now() + _params.revealWindow;
        task.status = TaskStatus.Revealing;
        task.deadline = deadline;
        emit TaskRevealOpened(taskId, deadline);
    }

    /// @dev Commit deadline passed. With fewer than two commitments nobody is blamed (missing task arguments
    /// or a broken relay look the same as lazy nodes) and the fee is refunded; otherwise the reveal phase opens
    /// and the silent node stays in the task: it is slashed only if the two committers then agree.
    function _closeCommits(Task storage task, uint256 taskId) private {
        if (_popcount(task.committedMask) >= 2) {
            _openReveals(task, taskId);
            return;
        }
        task.releasedMask = ALL_NODES;
        uint96 refund = _markAborted(task, taskId, AbortReason.TooFewCommitments);
        nodePool.releaseNodes(task.nodes.load(), ALL_NODES, 0, taskId, task.slashBps);
        token.safeTransfer(task.creator, refund);
    }

    /// @dev All committed nodes revealed, or the reveal deadline passed.
    function _settle(Task storage task, uint256 taskId) private {
        uint8 revealed = task.revealedMask;
        address[3] memory nodes = task.nodes.load();
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
            // Two agreeing reveals decide: every other node (different result, withheld reveal, or silent at
            // the commit phase while these two committed) is slashed.
            _succeed(task, taskId, nodes, majority, winners);
        } else {
            // No two equal reveals: the result cannot be attributed, so neither revealers nor a node that was
            // silent at the commit phase are slashed; nodes that committed and then withheld their reveal are.
            uint8 withheld = task.committedMask & ~revealed;
            AbortReason reason = _popcount(revealed) < 2 ? AbortReason.TooFewReveals : AbortReason.NoMajority;
            if (reason == AbortReason.NoMajority) emit NoMajorityNodes(taskId, nodes, results, revealed);
            uint96 refund = _markAborted(task, taskId, reason);
            nodePool.releaseNodes(nodes, ALL_NODES, withheld, taskId, task.slashBps);
            Params memory p = _params;
            _dispatch(p.autoDispatchScan, p.autoDispatchScan, p.commitWindow, false);
            token.safeTransfer(task.creator, refund);
        }
    }

    /// @dev Pays the nodes that revealed the majority result (`winners`), slashes the others.
    function _succeed(Task storage task, uint256 taskId, address[3] memory nodes, bytes32 majority, uint8 winners) private {
        uint256 fee = task.fee;
        uint16 nodeShareBps = task.nodeShareBps;
        uint16 slashBps = task.slashBps;
        task.status = TaskStatus.Succeeded;
        task.resultHash = majority;
        _ledger.totalEscrow -= uint128(fee);
        emit TaskSucceeded(taskId, majority);

        uint256 winnerCount = _popcount(winners);
        uint256 share = (fee * nodeShareBps) / BPS / winnerCount;
        for (uint256 k; k < 3; ++k) {
            if (winners & (1 << k) != 0) emit NodePaid(taskId, nodes[k], share);
        }
        nodePool.releaseNodes(nodes, ALL_NODES, ALL_NODES & ~winners, taskId, slashBps);
        Params memory p = _params;
        _dispatch(p.autoDispatchScan, p.autoDispatchScan, p.commitWindow, false);

        for (uint256 k; k < 3; ++k) {
            if (winners & (1 << k) != 0) token.safeTransfer(nodes[k], share);
        }
        uint256 rest = fee - share * winnerCount;
        if (rest != 0) token.safeTransfer(treasury, rest);
    }

    /// @dev Aborts a task that leaves the queue: the creator gets the fee back less FORFEIT_BPS (treasury), or
    /// all of it when its demand is no longer `served` (governance's doing, not the creator's).
    function _abortQueued(Task storage task, uint256 taskId, AbortReason reason, bool served) private {
        uint96 fee = _markAborted(task, taskId, reason);
        uint256 forfeit = served ? (uint256(fee) * FORFEIT_BPS) / BPS : 0;
        if (forfeit != 0) {
            emit FeeForfeited(taskId, forfeit);
            token.safeTransfer(treasury, forfeit);
        }
        token.safeTransfer(task.creator, fee - forfeit);
    }

    /// @dev The effects of an abort; the caller pays out the returned fee after its other calls.
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

    /// @dev Whether an active group that enables the task's model still has its `minVramGb` (what createTask
    /// checked). Only governance lowers it (`disableModel`, `retireGroup`); nodes joining or leaving do not.
    function _stillServed(Task storage task) private view returns (bool) {
        (, , uint32 servedVramGb) = nodePool.modelDemand(task.model);
        return task.minVramGb <= servedVramGb;
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

    function _nodeIndex(Task storage task, uint256 taskId, address node) private view returns (uint256 k) {
        k = task.nodes.indexOf(node);
        if (k == 3) revert NotSelected(taskId, node);
    }

    /// @dev The queue links of task `id` (TaskQueue's neighbour lookup).
    function _linksOf(uint256 id) private view returns (NodeTriple storage) {
        return _tasks[id].nodes;
    }

    /// @dev Removes a queued task that ends without starting; it keeps no nodes.
    function _dequeue(Task storage task) private {
        _params.queue = _params.queue.dequeue(task.nodes, _linksOf);
    }

    function _setWindows(uint64 queueWindow, uint64 commitWindow, uint64 revealWindow) private {
        if (
            queueWindow == 0 ||
            commitWindow == 0 ||
            revealWindow == 0 ||
            queueWindow > type(uint32).max ||
            commitWindow > type(uint32).max ||
            revealWindow > type(uint32).max
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

    function _setSlashBps(uint16 bps) private {
        if (bps == 0 || bps > BPS) revert InvalidBps(bps);
        _params.slashBps = bps;
        emit SlashBpsSet(bps);
    }

    function _setMaxQueueLength(uint16 length) private {
        if (length == 0 || length > MAX_QUEUE_CAP) revert InvalidQueueLength(length);
        _params.maxQueueLength = length;
        emit MaxQueueLengthSet(length);
    }

    function _setAutoDispatchScan(uint8 scan) private {
        if (scan > MAX_DISPATCH_SCAN) revert InvalidScan(scan);
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
}
