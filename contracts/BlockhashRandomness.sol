// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRandomnessSource} from "./interfaces/IRandomnessSource.sol";

/// @title Block-hash randomness bound to a future block
/// @notice A request made in block N is answered by the hash of block N + 1, which nobody knows when the
/// request transaction is signed. The block hash commits to the whole header, including that block's
/// prevrandao (the beacon-chain RANDAO mix). Residual trust: the producer of block N + 1 can withhold the
/// block (forfeiting its reward) to re-roll the value once; such a request goes stale after 256 blocks and
/// is re-armed by the consumer. Replace this contract with a VRF adapter where that is not acceptable.
contract BlockhashRandomness is IRandomnessSource {
    error UnknownRequest(uint256 requestId);
    error RandomnessNotReady(uint256 requestId);

    event RandomnessRequested(uint256 indexed requestId, address indexed requester, uint64 targetBlock);

    /// @dev requestId => block whose hash answers it; 0 = unknown request.
    mapping(uint256 => uint64) private _targetBlock;
    uint256 private _nextRequestId = 1;

    /// @inheritdoc IRandomnessSource
    function request() external returns (uint256 requestId) {
        requestId = _nextRequestId++;
        uint64 target = uint64(block.number + 1);
        _targetBlock[requestId] = target;
        emit RandomnessRequested(requestId, msg.sender, target);
    }

    /// @notice The block whose hash answers `requestId` (0 if unknown).
    /// @param requestId A request id returned by `request`.
    function targetBlockOf(uint256 requestId) external view returns (uint64) {
        return _targetBlock[requestId];
    }

    /// @inheritdoc IRandomnessSource
    function isReady(uint256 requestId) public view returns (bool) {
        uint64 target = _targetBlock[requestId];
        return target != 0 && block.number > target && block.number - target <= 256;
    }

    /// @inheritdoc IRandomnessSource
    function isStale(uint256 requestId) external view returns (bool) {
        uint64 target = _targetBlock[requestId];
        return target != 0 && block.number > target + 256;
    }

    /// @inheritdoc IRandomnessSource
    function randomness(uint256 requestId) external view returns (uint256) {
        if (_targetBlock[requestId] == 0) revert UnknownRequest(requestId);
        if (!isReady(requestId)) revert RandomnessNotReady(requestId);
        return uint256(keccak256(abi.encode(blockhash(_targetBlock[requestId]), requestId)));
    }
}
