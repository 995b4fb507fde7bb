// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {INodePool} from "./interfaces/INodePool.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {AvailableSet} from "./libraries/AvailableSet.sol";

/// @title Triad node registry
/// @notice Staked GPU nodes in groups of identical cards. Groups exist only when governance (DEFAULT_ADMIN_ROLE:
/// a TimelockController on a real deployment) adds them; a retired group gets no new nodes or tasks and its
/// nodes leave with their stakes. Each group keeps its available nodes in a swap-and-pop array with an index
/// per node, so adding, removing and drawing a node is O(1). The one task manager is fixed at construction:
/// nobody can grant another, and only it can draw and slash nodes, only nodes that are in its task.
/// It also holds the model registry: each group enables a bitmap of registered models, kept in the slot the draw
/// reads anyway, so drawing only among groups that serve a task's model costs nothing extra.
contract NodeRegistry is INodeRegistry, INodePool, IModelRegistry, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Most card groups governance may add (the draw scans them).
    uint256 public constant MAX_GROUPS = 64;
    /// @notice Longest card model name, in bytes.
    uint256 public constant MAX_CARD_MODEL_BYTES = 64;
    /// @notice Basis points in a whole.
    uint16 public constant BPS = 10_000;
    /// @notice Most models ever registered (the width of a group's model bitmap).
    uint256 public constant MAX_MODELS = 64;
    /// @notice Longest model id, in bytes.
    uint256 public constant MAX_MODEL_ID_BYTES = 64;
    /// @notice How long after `enableModel` a model becomes drawable on a group that has nodes: the time its
    /// nodes have to pause, fetch and verify the files (a node drawn for a model it lacks would not commit).
    uint64 public constant MODEL_ACTIVATION_DELAY = 1 days;

    /// @dev One slot. `availableIndex` is meaningful only while Available.
    struct Node {
        NodeStatus status;
        bool kicked;
        uint8 groupId;
        uint32 vramGb;
        uint32 availableIndex;
        uint64 taskId;
        uint96 stake;
    }

    /// @dev `vramGb`, `availableCount`, `retired` and `models` share a slot so that the group scan reads one slot per
    /// group. `members` counts the group's joined nodes (any status but None); `pendingModels` become drawable
    /// (move into `models`) from `modelsActivateAt`.
    /// `available` with `availableCount` (and each node's `availableIndex`) is the group's AvailableSet.
    struct Group {
        uint32 vramGb;
        uint32 availableCount;
        bool retired;
        uint64 models;
        uint64 pendingModels;
        uint64 modelsActivateAt;
        uint32 members;
        string cardModel;
        mapping(uint256 position => address node) available;
    }

    /// @dev `vramGb` (the smallest offered variant's), `servedVramGb` and `retired` share the slot createTask reads,
    /// with the auto variant (a Variant) and the VRAM of each variant (the five `*VramGb`, 0 = not offered).
    struct Model {
        uint32 vramGb;
        uint32 servedVramGb;
        bool retired;
        uint8 autoVariant;
        uint32 fp32VramGb;
        uint32 fp16VramGb;
        uint32 q8VramGb;
        uint32 q4VramGb;
        uint32 q4f16VramGb;
        bytes32 digest;
        string id;
        string revision;
    }

    /// @notice The token stakes and fees are paid in.
    IERC20 public immutable token;
    /// @notice The only contract that may draw, release and slash nodes (fixed at construction).
    address public immutable taskManager;
    /// @notice Receives slashed stake.
    address public treasury;
    /// @notice Stake locked by a node that joins now (nodes keep the amount they joined with).
    uint256 public stakeAmount;
    /// @notice Sum of all stakes held by this contract.
    uint256 public totalStaked;
    /// @notice The largest VRAM of an active group (0 when none): task demands above it are refused.
    uint32 public maxActiveVramGb;

    Group[] private _groups;
    mapping(bytes32 cardAndVram => bool) private _groupExists;
    mapping(address node => Node) private _nodes;
    uint256 private _modelCount;
    mapping(uint256 model => Model) private _models;
    mapping(bytes32 idHash => uint256 modelPlusOne) private _modelByIdHash;

    modifier onlyTaskManager() {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        _;
    }

    /// @param token_ Stake token.
    /// @param governor Receives DEFAULT_ADMIN_ROLE (groups, stake amount, treasury, kick).
    /// @param treasury_ Receives slashed stake.
    /// @param stakeAmount_ Stake per node.
    /// @param taskManager_ The task manager (deployed next; its constructor checks this wiring).
    constructor(IERC20 token_, address governor, address treasury_, uint256 stakeAmount_, address taskManager_) {
        if (address(token_) == address(0) || governor == address(0) || taskManager_ == address(0)) revert ZeroAddress();
        token = token_;
        taskManager = taskManager_;
        _grantRole(DEFAULT_ADMIN_ROLE, governor);
        _setTreasury(treasury_);
        _setStakeAmount(stakeAmount_);
    }

    // ----------------------------------------------------------------------------------------------
    // Governance
    // ----------------------------------------------------------------------------------------------

    /// @notice Creates a group of identical cards.
    /// @param cardModel The card model exactly as the worker's device detection reports it (1..64 bytes).
    /// @param vramGb The card's VRAM in GB (> 0).
    /// @return groupId The new group's id (its index, 0 .. MAX_GROUPS - 1).
    function addGroup(string calldata cardModel, uint32 vramGb) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 groupId) {
        uint256 len = bytes(cardModel).length;
        if (len == 0 || len > MAX_CARD_MODEL_BYTES) revert InvalidCardModel();
        if (vramGb == 0) revert InvalidVram();
        bytes32 key = keccak256(abi.encode(cardModel, vramGb));
        groupId = _groups.length;
        if (_groupExists[key]) revert GroupExists(_findGroup(cardModel, vramGb));
        if (groupId >= MAX_GROUPS) revert GroupLimitReached(MAX_GROUPS);
        _groupExists[key] = true;
        Group storage g = _groups.push();
        g.vramGb = vramGb;
        g.cardModel = cardModel;
        if (vramGb > maxActiveVramGb) maxActiveVramGb = vramGb;
        emit GroupAdded(groupId, cardModel, vramGb);
    }

    /// @notice Retires a group: no new joins, no new tasks drawn from it; its nodes keep their stakes and may
    /// quit (tasks already running finish normally).
    /// @param groupId The group.
    function retireGroup(uint256 groupId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Group storage g = _activeGroup(groupId);
        g.retired = true;
        uint32 maxVram;
        for (uint256 i; i < _groups.length; ++i) {
            Group storage other = _groups[i];
            if (!other.retired && other.vramGb > maxVram) maxVram = other.vramGb;
        }
        maxActiveVramGb = maxVram;
        _updateServedVram(g.models);
        emit GroupRetirement(groupId);
    }

    /// @notice Removes a node. An idle node leaves at once with its whole stake; a busy one leaves (unslashed,
    /// unless its task slashes it) when its task ends. For nodes that repeatedly disagree without a majority.
    /// @param nodeAddress The node to remove.
    function kick(address nodeAddress) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        _leaveOrSchedule(nodeAddress, true);
    }

    /// @notice Sets the stake for future joins (nodes keep the amount they joined with).
    /// @param amount Stake in token units (> 0, fits 96 bits).
    function setStakeAmount(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setStakeAmount(amount);
    }

    /// @notice Sets where slashed stake goes.
    /// @param treasury_ Non-zero address.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    // ----------------------------------------------------------------------------------------------
    // Governance: models
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IModelRegistry
    function registerModel(
        string calldata id,
        string calldata revision,
        bytes32 digest,
        uint32[5] calldata variantVramGb,
        Variant autoVariant
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 model) {
        _checkModelIdentity(id, revision, digest);
        model = _newModelIndex(id);
        Model storage m = _models[model];
        m.vramGb = _checkVariants(variantVramGb, autoVariant);
        m.autoVariant = uint8(autoVariant);
        (m.fp32VramGb, m.fp16VramGb, m.q8VramGb) = (variantVramGb[0], variantVramGb[1], variantVramGb[2]);
        (m.q4VramGb, m.q4f16VramGb) = (variantVramGb[3], variantVramGb[4]);
        m.digest = digest;
        m.id = id;
        m.revision = revision;
        emit ModelRegistered(model, id, revision, digest, variantVramGb, autoVariant);
    }

    /// @inheritdoc IModelRegistry
    function retireModel(uint256 model) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _activeModel(model).retired = true;
        emit ModelRetirement(model);
    }

    /// @inheritdoc IModelRegistry
    function enableModel(uint256 groupId, uint256 model) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Group storage g = _activeGroup(groupId);
        Model storage m = _activeModel(model);
        if (m.vramGb > g.vramGb) revert ModelTooLarge(model, m.vramGb, g.vramGb);
        uint64 bit = uint64(1) << uint8(model);
        if ((g.models | g.pendingModels) & bit != 0) revert ModelAlreadyEnabled(groupId, model);
        if (g.members == 0) {
            g.models |= bit;
            _updateServedVram(bit);
            emit ModelEnabled(groupId, model, uint64(block.timestamp));
        } else {
            // Every pending model waits the full delay from the latest enable: nodes fetch them together.
            uint64 activatesAt = uint64(block.timestamp) + MODEL_ACTIVATION_DELAY;
            g.pendingModels |= bit;
            g.modelsActivateAt = activatesAt;
            emit ModelEnabled(groupId, model, activatesAt);
        }
    }

    /// @inheritdoc IModelRegistry
    function disableModel(uint256 groupId, uint256 model) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (groupId >= _groups.length) revert UnknownGroup(groupId);
        Group storage g = _groups[groupId];
        uint64 bit = model < MAX_MODELS ? uint64(1) << uint8(model) : 0;
        if ((g.models | g.pendingModels) & bit == 0) revert ModelNotEnabled(groupId, model);
        g.models &= ~bit;
        g.pendingModels &= ~bit;
        _updateServedVram(bit);
        emit ModelDisabled(groupId, model);
    }

    /// @inheritdoc IModelRegistry
    function activateModels(uint256 groupId) external {
        Group storage g = _activeGroup(groupId);
        uint64 pending = g.pendingModels;
        if (pending == 0) revert NoPendingModels(groupId);
        if (block.timestamp < g.modelsActivateAt) revert ModelsNotDue(groupId, g.modelsActivateAt);
        g.models |= pending;
        g.pendingModels = 0;
        _updateServedVram(pending);
        emit ModelsActivated(groupId, pending);
    }

    // ----------------------------------------------------------------------------------------------
    // Node actions
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc INodeRegistry
    function join(uint256 groupId) external nonReentrant {
        Node storage node = _nodes[msg.sender];
        if (node.status != NodeStatus.None) revert AlreadyJoined(msg.sender);
        Group storage group = _activeGroup(groupId);

        uint256 stake = stakeAmount;
        node.status = NodeStatus.Available;
        node.kicked = false;
        node.groupId = uint8(groupId);
        node.vramGb = group.vramGb;
        node.taskId = 0;
        node.stake = SafeCast.toUint96(stake);
        totalStaked += stake;
        group.members += 1;
        _addAvailable(node, msg.sender);

        emit NodeJoined(msg.sender, groupId, group.cardModel, group.vramGb, stake);
        token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @inheritdoc INodeRegistry
    function pause() external nonReentrant {
        Node storage node = _nodes[msg.sender];
        NodeStatus status = node.status;
        if (status == NodeStatus.Available) {
            _removeAvailable(node);
            _setStatus(node, msg.sender, NodeStatus.Paused);
            emit NodePaused(msg.sender);
        } else if (status == NodeStatus.Busy) {
            _setStatus(node, msg.sender, NodeStatus.PendingPause);
        } else {
            revert InvalidNodeStatus(msg.sender, status);
        }
    }

    /// @inheritdoc INodeRegistry
    function resume() external nonReentrant {
        Node storage node = _nodes[msg.sender];
        NodeStatus status = node.status;
        if (status == NodeStatus.Paused) {
            _setStatus(node, msg.sender, NodeStatus.Available);
            _addAvailable(node, msg.sender);
            emit NodeResumed(msg.sender);
        } else if (status == NodeStatus.PendingPause) {
            _setStatus(node, msg.sender, NodeStatus.Busy);
            emit NodeResumed(msg.sender);
        } else {
            revert InvalidNodeStatus(msg.sender, status);
        }
    }

    /// @inheritdoc INodeRegistry
    function quit() external nonReentrant {
        _leaveOrSchedule(msg.sender, false);
    }

    // ----------------------------------------------------------------------------------------------
    // Task manager hooks
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc INodePool
    function drawNodes(
        uint8 model,
        uint32 minVramGb,
        uint256 seed,
        uint256 taskId
    ) external onlyTaskManager returns (bool found, uint8 groupId, address[3] memory nodes) {
        (bool any, uint256 chosen) = _chooseGroup(uint64(1) << uint8(model), minVramGb, seed);
        if (!any) return (false, 0, nodes);
        nodes = _takeThree(_groups[chosen], seed, SafeCast.toUint64(taskId));
        return (true, uint8(chosen), nodes);
    }

    /// @inheritdoc INodePool
    function releaseNodes(
        address[3] calldata nodes,
        uint8 activeMask,
        uint8 slashMask,
        uint256 taskId,
        uint16 slashBps
    ) external onlyTaskManager nonReentrant {
        for (uint256 k; k < 3; ++k) {
            if (activeMask & (1 << k) == 0) continue;
            address nodeAddress = nodes[k];
            Node storage node = _nodes[nodeAddress];
            if (node.taskId != taskId || node.status == NodeStatus.None) revert NodeNotInTask(nodeAddress, taskId);
            if (slashMask & (1 << k) != 0) {
                _slash(node, nodeAddress, taskId, slashBps);
            } else {
                _release(node, nodeAddress);
            }
        }
    }

    /// @inheritdoc INodePool
    function canDraw(uint8 model, uint32 minVramGb) external view returns (bool) {
        uint64 modelBit = uint64(1) << uint8(model);
        for (uint256 i; i < _groups.length; ++i) {
            Group storage g = _groups[i];
            if (_eligible(g, modelBit, minVramGb)) return true;
        }
        return false;
    }

    /// @inheritdoc INodePool
    function modelDemand(uint256 model) external view returns (ModelStatus status, uint32 vramGb, uint32 servedVramGb) {
        Model storage m = _models[model];
        vramGb = m.vramGb;
        if (vramGb == 0) return (ModelStatus.None, 0, 0);
        return (m.retired ? ModelStatus.Retired : ModelStatus.Active, vramGb, m.servedVramGb);
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc INodeRegistry
    function getNode(address nodeAddress) external view returns (NodeInfo memory info) {
        Node storage node = _nodes[nodeAddress];
        info.status = node.status;
        if (node.status == NodeStatus.None) return info;
        info.vramGb = node.vramGb;
        info.groupId = node.groupId;
        info.stake = node.stake;
        info.taskId = node.taskId;
        info.cardModel = _groups[node.groupId].cardModel;
    }

    /// @inheritdoc INodeRegistry
    function availableCount(uint256 groupId) external view returns (uint256) {
        return groupId < _groups.length ? _groups[groupId].availableCount : 0;
    }

    /// @notice Number of groups created so far, retired ones included (at most MAX_GROUPS).
    function groupCount() external view returns (uint256) {
        return _groups.length;
    }

    /// @notice A group's identity, available count and whether it is retired.
    /// @param groupId 0 .. groupCount() - 1.
    function groupAt(uint256 groupId) external view returns (string memory cardModel, uint32 vramGb, uint256 available, bool retired) {
        if (groupId >= _groups.length) revert UnknownGroup(groupId);
        Group storage g = _groups[groupId];
        return (g.cardModel, g.vramGb, g.availableCount, g.retired);
    }

    /// @notice The id of the group (card model, VRAM); reverts with UnknownGroup(type(uint256).max) if none.
    /// @param cardModel Exactly as reported by the worker's device detection.
    /// @param vramGb VRAM in GB.
    function groupIdOf(string calldata cardModel, uint32 vramGb) external view returns (uint256) {
        if (!_groupExists[keccak256(abi.encode(cardModel, vramGb))]) revert UnknownGroup(type(uint256).max);
        return _findGroup(cardModel, vramGb);
    }

    /// @notice The available nodes of a group (off-chain tooling and tests; unbounded, do not call on-chain).
    /// @param groupId A group id.
    function availableNodes(uint256 groupId) external view returns (address[] memory nodes) {
        if (groupId >= _groups.length) return nodes;
        Group storage g = _groups[groupId];
        nodes = new address[](g.availableCount);
        for (uint256 i; i < nodes.length; ++i) {
            nodes[i] = g.available[i];
        }
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    /// @inheritdoc IModelRegistry
    function getModel(uint256 model) external view returns (ModelInfo memory info) {
        Model storage m = _models[model];
        if (m.vramGb == 0) return info;
        info.status = m.retired ? ModelStatus.Retired : ModelStatus.Active;
        info.vramGb = m.vramGb;
        info.servedVramGb = m.servedVramGb;
        info.autoVariant = Variant(m.autoVariant);
        info.variantVramGb = [m.fp32VramGb, m.fp16VramGb, m.q8VramGb, m.q4VramGb, m.q4f16VramGb];
        info.digest = m.digest;
        info.id = m.id;
        info.revision = m.revision;
    }

    /// @inheritdoc IModelRegistry
    function modelIndexOf(string calldata id) external view returns (uint256) {
        uint256 plusOne = _modelByIdHash[keccak256(bytes(id))];
        if (plusOne == 0) revert UnknownModelId(id);
        return plusOne - 1;
    }

    /// @inheritdoc IModelRegistry
    function groupModels(uint256 groupId) external view returns (uint64 enabled, uint64 pending, uint64 activatesAt) {
        if (groupId >= _groups.length) revert UnknownGroup(groupId);
        Group storage g = _groups[groupId];
        return (g.models, g.pendingModels, g.modelsActivateAt);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    function _checkModelIdentity(string calldata id, string calldata revision, bytes32 digest) private pure {
        uint256 idLength = bytes(id).length;
        if (idLength == 0 || idLength > MAX_MODEL_ID_BYTES) revert InvalidModelId();
        uint256 revisionLength = bytes(revision).length;
        if (revisionLength == 0 || revisionLength > MAX_MODEL_ID_BYTES) revert InvalidRevision();
        if (digest == bytes32(0)) revert InvalidDigest();
    }

    /// @dev Returns the smallest offered (non-zero) figure; reverts unless one is offered, the auto variant included.
    function _checkVariants(uint32[5] calldata variantVramGb, Variant autoVariant) private pure returns (uint32 smallest) {
        for (uint256 i; i < 5; ++i) {
            uint32 vram = variantVramGb[i];
            if (vram != 0 && (smallest == 0 || vram < smallest)) smallest = vram;
        }
        if (smallest == 0) revert NoVariantOffered();
        if (variantVramGb[uint8(autoVariant)] == 0) revert AutoVariantNotOffered(autoVariant);
    }

    /// @dev Reserves the next model index for a new id.
    function _newModelIndex(string calldata id) private returns (uint256 model) {
        bytes32 idHash = keccak256(bytes(id));
        uint256 existing = _modelByIdHash[idHash];
        if (existing != 0) revert ModelExists(existing - 1);
        model = _modelCount;
        if (model >= MAX_MODELS) revert ModelLimitReached(MAX_MODELS);
        _modelCount = model + 1;
        _modelByIdHash[idHash] = model + 1;
    }

    function _activeModel(uint256 model) private view returns (Model storage m) {
        m = _models[model];
        if (m.vramGb == 0) revert UnknownModel(model);
        if (m.retired) revert ModelIsRetired(model);
    }

    /// @dev Recomputes, for each model in `modelBits`, the largest VRAM of an active group whose drawable models
    /// include it (what createTask checks). Governance only: O(groups) per model.
    function _updateServedVram(uint64 modelBits) private {
        for (uint256 model; modelBits != 0; ++model) {
            uint64 bit = uint64(1) << uint8(model);
            if (modelBits & bit == 0) continue;
            modelBits &= ~bit;
            uint32 served;
            for (uint256 i; i < _groups.length; ++i) {
                Group storage g = _groups[i];
                if (!g.retired && g.models & bit != 0 && g.vramGb > served) served = g.vramGb;
            }
            _models[model].servedVramGb = served;
        }
    }

    function _activeGroup(uint256 groupId) private view returns (Group storage g) {
        if (groupId >= _groups.length) revert UnknownGroup(groupId);
        g = _groups[groupId];
        if (g.retired) revert GroupRetired(groupId);
    }

    function _findGroup(string calldata cardModel, uint32 vramGb) private view returns (uint256) {
        bytes32 name = keccak256(bytes(cardModel));
        for (uint256 i; i < _groups.length; ++i) {
            Group storage g = _groups[i];
            if (g.vramGb == vramGb && keccak256(bytes(g.cardModel)) == name) return i;
        }
        revert UnknownGroup(type(uint256).max);
    }

    function _eligible(Group storage g, uint64 modelBit, uint32 minVramGb) private view returns (bool) {
        return !g.retired && g.models & modelBit != 0 && g.vramGb >= minVramGb && g.availableCount >= 3;
    }

    function _leaveOrSchedule(address nodeAddress, bool kicked) private {
        Node storage node = _nodes[nodeAddress];
        NodeStatus status = node.status;
        if (status == NodeStatus.Available) {
            _removeAvailable(node);
            _exit(node, nodeAddress, kicked);
        } else if (status == NodeStatus.Paused) {
            _exit(node, nodeAddress, kicked);
        } else if (status == NodeStatus.Busy || status == NodeStatus.PendingPause) {
            if (kicked) node.kicked = true;
            _setStatus(node, nodeAddress, NodeStatus.PendingQuit);
        } else if (status == NodeStatus.PendingQuit && kicked) {
            node.kicked = true;
        } else if (status == NodeStatus.None) {
            revert NotJoined(nodeAddress);
        } else {
            revert InvalidNodeStatus(nodeAddress, status);
        }
    }

    function _release(Node storage node, address nodeAddress) private {
        NodeStatus status = node.status;
        node.taskId = 0;
        if (status == NodeStatus.Busy) {
            _setStatus(node, nodeAddress, NodeStatus.Available);
            _addAvailable(node, nodeAddress);
        } else if (status == NodeStatus.PendingPause) {
            _setStatus(node, nodeAddress, NodeStatus.Paused);
            emit NodePaused(nodeAddress);
        } else {
            // PendingQuit: the only other status a node in a task can have.
            _exit(node, nodeAddress, node.kicked);
        }
    }

    function _exit(Node storage node, address nodeAddress, bool kicked) private {
        uint256 stake = node.stake;
        _groups[node.groupId].members -= 1;
        delete _nodes[nodeAddress];
        totalStaked -= stake;
        emit NodeStatusChanged(nodeAddress, NodeStatus.None);
        if (kicked) emit NodeKicked(nodeAddress, stake);
        else emit NodeQuit(nodeAddress, stake);
        token.safeTransfer(nodeAddress, stake);
    }

    function _slash(Node storage node, address nodeAddress, uint256 taskId, uint16 slashBps) private {
        uint256 stake = node.stake;
        uint256 slashed = (stake * slashBps) / BPS;
        uint256 returned = stake - slashed;
        _groups[node.groupId].members -= 1;
        delete _nodes[nodeAddress];
        totalStaked -= stake;
        emit NodeSlashed(nodeAddress, taskId, slashed);
        emit NodeStatusChanged(nodeAddress, NodeStatus.None);
        if (slashed != 0) token.safeTransfer(treasury, slashed);
        if (returned != 0) token.safeTransfer(nodeAddress, returned);
    }

    function _addAvailable(Node storage node, address nodeAddress) private {
        Group storage g = _groups[node.groupId];
        uint32 count = g.availableCount;
        node.availableIndex = count;
        g.availableCount = uint32(AvailableSet.add(g.available, count, nodeAddress));
    }

    /// @dev An active group enabling the model, with at least `minVramGb` and three available nodes, with probability proportional
    /// to its available count; false if there is none.
    function _chooseGroup(uint64 modelBit, uint32 minVramGb, uint256 seed) private view returns (bool, uint256) {
        uint256 groups = _groups.length;
        uint256 totalWeight;
        for (uint256 i; i < groups; ++i) {
            Group storage g = _groups[i];
            if (_eligible(g, modelBit, minVramGb)) totalWeight += g.availableCount;
        }
        if (totalWeight == 0) return (false, 0);
        uint256 pick = seed % totalWeight;
        for (uint256 i; i < groups; ++i) {
            Group storage g = _groups[i];
            if (_eligible(g, modelBit, minVramGb)) {
                if (pick < g.availableCount) return (true, i);
                pick -= g.availableCount;
            }
        }
        return (false, 0); // unreachable: pick < totalWeight
    }

    /// @dev Removes three uniformly drawn nodes from the group's available set and marks them busy.
    function _takeThree(Group storage group, uint256 seed, uint64 taskId) private returns (address[3] memory nodes) {
        uint256 count;
        (nodes, count) = AvailableSet.drawThree(group.available, group.availableCount, seed, _setAvailableIndex);
        group.availableCount = uint32(count);
        for (uint256 k; k < 3; ++k) {
            Node storage node = _nodes[nodes[k]];
            node.taskId = taskId;
            _setStatus(node, nodes[k], NodeStatus.Busy);
        }
    }

    function _removeAvailable(Node storage node) private {
        Group storage g = _groups[node.groupId];
        g.availableCount = uint32(AvailableSet.remove(g.available, g.availableCount, node.availableIndex, _setAvailableIndex));
    }

    /// @dev AvailableSet's position record: the index lives in the node's own slot.
    function _setAvailableIndex(address nodeAddress, uint256 index) private {
        _nodes[nodeAddress].availableIndex = uint32(index);
    }

    function _setStatus(Node storage node, address nodeAddress, NodeStatus status) private {
        node.status = status;
        emit NodeStatusChanged(nodeAddress, status);
    }

    function _setStakeAmount(uint256 amount) private {
        if (amount == 0 || amount > type(uint96).max) revert InvalidStakeAmount();
        stakeAmount = amount;
        emit StakeAmountSet(amount);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }
}
