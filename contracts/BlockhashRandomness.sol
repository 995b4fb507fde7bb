// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRandomnessSource} from "./interfaces/IRandomnessSource.sol";

/// @title Block-hash randomness bound to a future block
/// @notice A request made in block N is answered by the hash of block N + 1, which nobody knows when the
/// request transaction is signed. The block hash commits to the whole header, including that block's
/// prevrandao. Residual trust (see docs/contracts.md, threat model): the producer of block N + 1 chooses its
/// contents and so can grind the hash over as many candidate blocks as it can build in its slot, and anyone
/// can change the available set between block N + 1 and the dispatch that reads the value. Use VrfRandomness
/// wherever Chainlink VRF exists; this source is for chains without it and for devnets.
contract BlockhashRandomness is IRandomnessSource {
    error UnknownRequest(uint256 requestId);
    error RandomnessNotReady(uint256 requestId);

    /// @notice A block-hash request: its word is the hash of `targetBlock`.
    event RandomnessRequested(uint256 indexed requestId, address indexed requester, uint64 targetBlock);

    /// @inheritdoc IRandomnessSource
    function pushes() external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IRandomnessSource
    /// @dev The request id IS the target block number, so nothing is stored: every request made in block N
    /// shares id N + 1 and value, and consumers mix in their own ids (TaskManager hashes in the task id).
    function request(uint256) external returns (uint256 requestId) {
        requestId = block.number + 1;
        emit RandomnessRequested(requestId, msg.sender, uint64(requestId));
    }

    /// @notice The block whose hash answers `requestId` (the id itself).
    /// @param requestId A request id returned by `request`.
    function targetBlockOf(uint256 requestId) external pure returns (uint64) {
        return uint64(requestId);
    }

    /// @inheritdoc IRandomnessSource
    function isReady(uint256 requestId) public view returns (bool) {
        return requestId != 0 && block.number > requestId && block.number - requestId <= 256;
    }

    /// @inheritdoc IRandomnessSource
    function isStale(uint256 requestId) external view returns (bool) {
        return requestId != 0 && block.number > requestId + 256;
    }

    /// @inheritdoc IRandomnessSource
    function randomness(uint256 requestId) external view returns (uint256) {
        if (requestId == 0) revert UnknownRequest(requestId);
        if (!isReady(requestId)) revert RandomnessNotReady(requestId);
        return uint256(keccak256(abi.encode(blockhash(requestId), requestId)));
    }
}
