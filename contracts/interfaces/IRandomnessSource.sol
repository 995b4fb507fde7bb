// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Source of randomness for node selection
/// @notice Replaceable (e.g. by a VRF adapter). A request is made when a task is created; the task can be
/// dispatched only once `isReady` is true, so the value is unknown to the creator at creation time.
interface IRandomnessSource {
    /// @notice Registers a request and returns its id.
    function request() external returns (uint256 requestId);

    /// @notice Whether the random value of a request is available.
    function isReady(uint256 requestId) external view returns (bool);

    /// @notice Whether a request can never become ready any more (e.g. its block hash fell out of the
    /// 256-block window) and must be replaced by a new request. A VRF adapter returns false.
    function isStale(uint256 requestId) external view returns (bool);

    /// @notice The random value of a ready request.
    function randomness(uint256 requestId) external view returns (uint256);
}
