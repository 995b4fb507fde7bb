// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {INodePool} from "./interfaces/INodePool.sol";

/// @title Triad node registry
/// @notice Staked GPU nodes grouped by (card model, VRAM). Each group keeps its available nodes in an array
/// with swap-and-pop and an index per node, so adding, removing and drawing a node is O(1). Groups are
/// capped at MAX_GROUPS so that finding the groups with enough VRAM never loops over nodes.
contract NodeRegistry is INodeRegistry, INodePool, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant TASK_MANAGER_ROLE = keccak256("TASK_MANAGER_ROLE");
    uint256 public constant MAX_GROUPS = 64;
    uint256 public constant MAX_CARD_MODEL_BYTES = 64;
    uint16 public constant BPS = 10_000;

    error AlreadyJoined(address node);
    error NotJoined(address node);
    error InvalidCardModel();
    error InvalidVram();
    error GroupLimitReached(uint256 maxGroups);
    error InvalidNodeStatus(address node, NodeStatus status);
    error NodeNotInTask(address node, uint256 taskId);
    error InvalidStakeAmount();
    error InvalidSlashBps(uint256 slashBps);
    error ZeroAddress();

    event GroupCreated(bytes32 indexed groupId, uint256 index, string cardModel, uint32 vramGb);
    event StakeAmountSet(uint256 stakeAmount);
    event SlashBpsSet(uint16 slashBps);
    event TreasurySet(address treasury);

    /// @dev One slot. `availableIndex` is meaningful only while Available.
    struct Node {
        NodeStatus status;
        bool kicked;
        uint8 groupIndex;
        uint32 vramGb;
        uint32 availableIndex;
        uint64 taskId;
        uint96 stake;
    }

    /// @dev `vramGb` and `availableCount` share a slot so that the group scan reads one slot per group.
    /// `available[0 .. availableCount)` are the available nodes. Entries past the count are stale and never
    /// cleared: re-adding a node then rewrites a used slot (2.9k-5k gas) instead of a zero one (22.1k).
    struct Group {
        uint32 vramGb;
        uint32 availableCount;
        bytes32 id;
        string cardModel;
        mapping(uint256 => address) available;
    }

    IERC20 public immutable token;
    /// @notice Receives slashed stake.
    address public treasury;
    /// @notice Stake locked by a node that joins now (nodes keep the amount they joined with).
    uint256 public stakeAmount;
    /// @notice Share of a slashed node's stake sent to the treasury (the rest is returned to the node).
    uint16 public slashBps;
    /// @notice Sum of all stakes held by this contract.
    uint256 public totalStaked;

    Group[] private _groups;
    mapping(bytes32 => uint256) private _groupIndexPlusOne;
    mapping(address => Node) private _nodes;

    /// @param token_ Stake token.
    /// @param admin Receives DEFAULT_ADMIN_ROLE (parameters, kick, granting TASK_MANAGER_ROLE).
    /// @param treasury_ Receives slashed stake.
    /// @param stakeAmount_ Stake per node.
    /// @param slashBps_ Share of the stake taken by a slash, in basis points.
    constructor(IERC20 token_, address admin, address treasury_, uint256 stakeAmount_, uint16 slashBps_) {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setTreasury(treasury_);
        _setStakeAmount(stakeAmount_);
        _setSlashBps(slashBps_);
    }

    // ----------------------------------------------------------------------------------------------
    // Node actions
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc INodeRegistry
    function join(string calldata cardModel, uint32 vramGb) external nonReentrant {
        Node storage node = _nodes[msg.sender];
        if (node.status != NodeStatus.None) revert AlreadyJoined(msg.sender);
        uint256 len = bytes(cardModel).length;
        if (len == 0 || len > MAX_CARD_MODEL_BYTES) revert InvalidCardModel();
        if (vramGb == 0) revert InvalidVram();

        uint8 groupIndex = _groupIndexFor(cardModel, vramGb);
        uint256 stake = stakeAmount;
        node.status = NodeStatus.Available;
        node.kicked = false;
        node.groupIndex = groupIndex;
        node.vramGb = vramGb;
        node.taskId = 0;
        node.stake = SafeCast.toUint96(stake);
        totalStaked += stake;
        _addAvailable(node, msg.sender);

        emit NodeJoined(msg.sender, _groups[groupIndex].id, cardModel, vramGb, stake);
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

    /// @notice Removes a node (admin). An idle node leaves at once with its stake; a busy one leaves when its
    /// task ends. Used against nodes that repeatedly disagree without a majority.
    /// @param nodeAddress The node to remove.
    function kick(address nodeAddress) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        _leaveOrSchedule(nodeAddress, true);
    }

    // ----------------------------------------------------------------------------------------------
    // Task manager hooks
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc INodePool
    function drawNodes(uint32 minVramGb, uint256 seed, uint256 taskId)
        external
        onlyRole(TASK_MANAGER_ROLE)
        returns (bool found, uint8 groupIndex, bytes32 groupId, address[3] memory nodes)
    {
        (bool any, uint256 chosen) = _chooseGroup(minVramGb, seed);
        if (!any) return (false, 0, bytes32(0), nodes);
        Group storage group = _groups[chosen];
        nodes = _takeThree(group, seed, SafeCast.toUint64(taskId));
        return (true, uint8(chosen), group.id, nodes);
    }

    /// @inheritdoc INodePool
    function releaseNodes(address[3] calldata nodes, uint8 activeMask, uint8 slashMask, uint256 taskId)
        external
        onlyRole(TASK_MANAGER_ROLE)
        nonReentrant
    {
        for (uint256 k; k < 3; ++k) {
            if (activeMask & (1 << k) == 0) continue;
            address nodeAddress = nodes[k];
            Node storage node = _nodes[nodeAddress];
            if (node.taskId != taskId || node.status == NodeStatus.None) revert NodeNotInTask(nodeAddress, taskId);
            if (slashMask & (1 << k) != 0) {
                _slash(node, nodeAddress, taskId);
            } else {
                _release(node, nodeAddress);
            }
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Parameters
    // ----------------------------------------------------------------------------------------------

    /// @notice Sets the stake for future joins.
    /// @param amount Stake in token units (> 0, fits 96 bits).
    function setStakeAmount(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setStakeAmount(amount);
    }

    /// @notice Sets the share of the stake a slash takes.
    /// @param bps Basis points, 1..10000.
    function setSlashBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSlashBps(bps);
    }

    /// @notice Sets where slashed stake goes.
    /// @param treasury_ Non-zero address.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc INodeRegistry
    function getNode(address nodeAddress) external view returns (NodeInfo memory info) {
        Node storage node = _nodes[nodeAddress];
        info.status = node.status;
        if (node.status == NodeStatus.None) return info;
        Group storage group = _groups[node.groupIndex];
        info.vramGb = node.vramGb;
        info.groupId = group.id;
        info.stake = node.stake;
        info.taskId = node.taskId;
        info.cardModel = group.cardModel;
    }

    /// @inheritdoc INodeRegistry
    function groupIdOf(string calldata cardModel, uint32 vramGb) public pure returns (bytes32) {
        return keccak256(abi.encode(cardModel, vramGb));
    }

    /// @inheritdoc INodeRegistry
    function availableCount(bytes32 groupId) external view returns (uint256) {
        uint256 indexPlusOne = _groupIndexPlusOne[groupId];
        return indexPlusOne == 0 ? 0 : _groups[indexPlusOne - 1].availableCount;
    }

    /// @notice Number of groups created so far (at most MAX_GROUPS).
    function groupCount() external view returns (uint256) {
        return _groups.length;
    }

    /// @notice A group's identity and available count, by index.
    /// @param index 0 .. groupCount() - 1.
    function groupAt(uint256 index)
        external
        view
        returns (bytes32 groupId, string memory cardModel, uint32 vramGb, uint256 available)
    {
        Group storage g = _groups[index];
        return (g.id, g.cardModel, g.vramGb, g.availableCount);
    }

    /// @inheritdoc INodePool
    function groupIdAt(uint256 groupIndex) external view returns (bytes32) {
        return _groups[groupIndex].id;
    }

    /// @notice The available nodes of a group (off-chain tooling and tests; unbounded, do not call on-chain).
    /// @param groupId A group id.
    function availableNodes(bytes32 groupId) external view returns (address[] memory) {
        uint256 indexPlusOne = _groupIndexPlusOne[groupId];
        if (indexPlusOne == 0) return new address[](0);
        Group storage g = _groups[indexPlusOne - 1];
        address[] memory nodes = new address[](g.availableCount);
        for (uint256 i; i < nodes.length; ++i) {
            nodes[i] = g.available[i];
        }
        return nodes;
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    function _groupIndexFor(string calldata cardModel, uint32 vramGb) private returns (uint8) {
        bytes32 groupId = groupIdOf(cardModel, vramGb);
        uint256 indexPlusOne = _groupIndexPlusOne[groupId];
        if (indexPlusOne != 0) return uint8(indexPlusOne - 1);
        uint256 index = _groups.length;
        if (index >= MAX_GROUPS) revert GroupLimitReached(MAX_GROUPS);
        Group storage g = _groups.push();
        g.vramGb = vramGb;
        g.id = groupId;
        g.cardModel = cardModel;
        _groupIndexPlusOne[groupId] = index + 1;
        emit GroupCreated(groupId, index, cardModel, vramGb);
        return uint8(index);
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
        delete _nodes[nodeAddress];
        totalStaked -= stake;
        emit NodeStatusChanged(nodeAddress, NodeStatus.None);
        if (kicked) emit NodeKicked(nodeAddress, stake);
        else emit NodeQuit(nodeAddress, stake);
        token.safeTransfer(nodeAddress, stake);
    }

    function _slash(Node storage node, address nodeAddress, uint256 taskId) private {
        uint256 stake = node.stake;
        uint256 slashed = stake * slashBps / BPS;
        uint256 returned = stake - slashed;
        delete _nodes[nodeAddress];
        totalStaked -= stake;
        emit NodeSlashed(nodeAddress, taskId, slashed);
        emit NodeStatusChanged(nodeAddress, NodeStatus.None);
        if (slashed != 0) token.safeTransfer(treasury, slashed);
        if (returned != 0) token.safeTransfer(nodeAddress, returned);
    }

    function _addAvailable(Node storage node, address nodeAddress) private {
        Group storage g = _groups[node.groupIndex];
        node.availableIndex = g.availableCount;
        g.available[g.availableCount] = nodeAddress;
        g.availableCount += 1;
    }

    /// @dev A group with at least `minVramGb` and three available nodes, with probability proportional to its
    /// available count; false if there is none.
    function _chooseGroup(uint32 minVramGb, uint256 seed) private view returns (bool, uint256) {
        uint256 groups = _groups.length;
        uint256 totalWeight;
        for (uint256 i; i < groups; ++i) {
            Group storage g = _groups[i];
            if (g.vramGb >= minVramGb && g.availableCount >= 3) totalWeight += g.availableCount;
        }
        if (totalWeight == 0) return (false, 0);
        uint256 pick = seed % totalWeight;
        for (uint256 i; i < groups; ++i) {
            Group storage g = _groups[i];
            if (g.vramGb >= minVramGb && g.availableCount >= 3) {
                if (pick < g.availableCount) return (true, i);
                pick -= g.availableCount;
            }
        }
        return (false, 0); // unreachable: pick < totalWeight
    }

    /// @dev Removes three uniformly drawn nodes from the group's available set and marks them busy.
    function _takeThree(Group storage group, uint256 seed, uint64 taskId) private returns (address[3] memory nodes) {
        uint256 count = group.availableCount;
        (uint256[3] memory picked, uint256[3] memory holes, uint256[3] memory fillers, uint256 moves) =
            _drawPositions(seed, count);
        for (uint256 k; k < 3; ++k) {
            address nodeAddress = group.available[picked[k]];
            Node storage node = _nodes[nodeAddress];
            node.taskId = taskId;
            _setStatus(node, nodeAddress, NodeStatus.Busy);
            nodes[k] = nodeAddress;
        }
        // The drawn nodes left holes below the new count; survivors from the last three positions fill them.
        for (uint256 i; i < moves; ++i) {
            address moved = group.available[fillers[i]];
            group.available[holes[i]] = moved;
            _nodes[moved].availableIndex = uint32(holes[i]);
        }
        group.availableCount = uint32(count - 3);
    }

    /// @dev Three swap-and-pop draws from `available[0 .. count)`, simulated in memory so that the storage is
    /// written once: `picked` are the drawn positions (the same ones as three real swap-and-pops with
    /// `keccak256(seed, k) % (count - k)`); `fillers[i]` (a survivor in the last three positions) moves to
    /// `holes[i]` (a drawn position below `count - 3`).
    function _drawPositions(uint256 seed, uint256 count)
        private
        pure
        returns (uint256[3] memory picked, uint256[3] memory holes, uint256[3] memory fillers, uint256 moves)
    {
        // The simulated array differs from storage only at `positions[i]`, which holds what storage has at
        // `sources[i]`.
        uint256[3] memory positions;
        uint256[3] memory sources;
        uint256 overrides;
        for (uint256 k; k < 3; ++k) {
            uint256 size = count - k;
            uint256 index = uint256(keccak256(abi.encode(seed, k))) % size;
            picked[k] = _storedAt(positions, sources, overrides, index);
            uint256 last = _storedAt(positions, sources, overrides, size - 1);
            uint256 i;
            while (i < overrides && positions[i] != index) ++i;
            if (i == overrides) ++overrides;
            positions[i] = index;
            sources[i] = last;
        }
        for (uint256 i; i < overrides; ++i) {
            if (positions[i] < count - 3 && sources[i] != positions[i]) {
                holes[moves] = positions[i];
                fillers[moves] = sources[i];
                ++moves;
            }
        }
    }

    function _storedAt(uint256[3] memory positions, uint256[3] memory sources, uint256 overrides, uint256 position)
        private
        pure
        returns (uint256)
    {
        for (uint256 i; i < overrides; ++i) {
            if (positions[i] == position) return sources[i];
        }
        return position;
    }

    function _removeAvailable(Node storage node) private {
        Group storage g = _groups[node.groupIndex];
        uint32 index = node.availableIndex;
        uint32 last = g.availableCount - 1;
        if (index != last) {
            address moved = g.available[last];
            g.available[index] = moved;
            _nodes[moved].availableIndex = index;
        }
        g.availableCount = last;
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

    function _setSlashBps(uint16 bps) private {
        if (bps == 0 || bps > BPS) revert InvalidSlashBps(bps);
        slashBps = bps;
        emit SlashBpsSet(bps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }
}
