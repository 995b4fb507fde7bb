// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Source of randomness for node selection
/// @notice Two kinds, fixed per deployment. A *push* source (Chainlink VRF) calls
/// `IRandomnessConsumer.onRandomness` in the transaction that delivers the random word, and the consumer draws
/// right there: nothing can change between the word becoming known and its use. A *pull* source (a future
/// block hash) is read by the consumer with `isReady` / `randomness` when it dispatches.
interface IRandomnessSource {
    /// @notice Whether this source calls back (`true`) or is read (`false`).
    function pushes() external view returns (bool);

    /// @notice Registers a request for `taskId`; only the consumer may call it.
    /// @param taskId The consumer's task, passed back to `onRandomness` by a push source.
    /// @return requestId The request id (a pull source: the id to read; a push source: informational).
    function request(uint256 taskId) external returns (uint256 requestId);

    /// @notice Pull sources: whether the random value of a request is available (a push source: false).
    /// @param requestId A request id returned by `request`.
    function isReady(uint256 requestId) external view returns (bool);

    /// @notice Pull sources: whether a request can never become ready any more (e.g. its block hash fell out of
    /// the 256-block window) and must be replaced by a new request (a push source: false).
    /// @param requestId A request id returned by `request`.
    function isStale(uint256 requestId) external view returns (bool);

    /// @notice Pull sources: the random value of a ready request.
    /// @param requestId A request id returned by `request`.
    function randomness(uint256 requestId) external view returns (uint256);
}

/// @title What a push randomness source calls
/// @notice Implemented by the task manager: receives a pushed random word and draws the task's nodes with it.
interface IRandomnessConsumer {
    /// @notice Delivers the random word requested for `taskId`. Must not revert for a valid delivery (a VRF
    /// coordinator does not retry).
    /// @param taskId The task passed to `IRandomnessSource.request`.
    /// @param randomWord The random word.
    function onRandomness(uint256 taskId, uint256 randomWord) external;
}
