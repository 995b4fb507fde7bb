// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IModelRegistry} from "./IModelRegistry.sol";

/// @title What the task manager needs from the node registry
/// @notice Callable only by the one task manager wired into the registry at construction.
interface INodePool {
    /// @notice Draws three distinct available nodes of one active group that enables `model` and has at least
    /// `minVramGb`, marks them busy with `taskId`. The group is drawn with probability proportional to its
    /// available count, then the nodes uniformly inside it. Returns found = false (and changes nothing) when no
    /// such group has three.
    function drawNodes(
        uint8 model,
        uint32 minVramGb,
        uint256 seed,
        uint256 taskId
    ) external returns (bool found, uint8 groupId, address[3] memory nodes);

    /// @notice Ends `taskId` for the nodes whose bit is set in `activeMask` (bit i = nodes[i]): those also set
    /// in `slashMask` lose `slashBps` of their stake to the treasury and leave, the others become available
    /// again or apply their pending pause/quit. Reverts unless every active node is in `taskId`.
    function releaseNodes(address[3] calldata nodes, uint8 activeMask, uint8 slashMask, uint256 taskId, uint16 slashBps) external;

    /// @notice Whether some active group enabling `model` with at least `minVramGb` has three available nodes now.
    function canDraw(uint8 model, uint32 minVramGb) external view returns (bool);

    /// @notice A model's status, the VRAM of its smallest offered variant and the largest VRAM of an active group
    /// whose drawable models include it (0 when none): what createTask checks, one storage slot.
    function modelDemand(uint256 model) external view returns (IModelRegistry.ModelStatus status, uint32 vramGb, uint32 servedVramGb);

    /// @notice The task manager wired in at construction (the only caller of the hooks above).
    function taskManager() external view returns (address);

    /// @notice The largest VRAM of an active group (0 when there is none): demands above it are unservable.
    function maxActiveVramGb() external view returns (uint32);
}
