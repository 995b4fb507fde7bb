// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ThreeDraw} from "./ThreeDraw.sol";

/// @title A swap-and-pop set of addresses with uniform three-member draws
/// @notice The members are `members[0 .. count)`; removing one moves the last member into its position, so
/// adding, removing and drawing are O(1). The caller keeps `count` (packed with whatever it reads with it) and
/// each member's position (`setIndex(member, position)` is called whenever a member moves); every function
/// returns the new count. Entries at or past the count are stale and never cleared: re-adding then rewrites a
/// used slot (2.9k-5k gas) instead of a zero one (22.1k).
library AvailableSet {
    /// @notice Appends `member` at position `count` (the member's position from now on).
    function add(mapping(uint256 position => address member) storage members, uint256 count, address member) internal returns (uint256) {
        members[count] = member;
        return count + 1;
    }

    /// @notice Removes the member at `index` (< `count`): the last member moves into its position.
    function remove(
        mapping(uint256 position => address member) storage members,
        uint256 count,
        uint256 index,
        function(address, uint256) internal setIndex
    ) internal returns (uint256) {
        uint256 last = count - 1;
        if (index != last) {
            address moved = members[last];
            members[index] = moved;
            setIndex(moved, index);
        }
        return last;
    }

    /// @notice Removes three members drawn uniformly with `seed` from `count` (>= 3): the same members, and the
    /// same order of survivors, as three `remove`s at `ThreeDraw.indexOf(seed, k, count - k)` for k = 0, 1, 2,
    /// but with every position written at most once.
    /// @return drawn The members drawn, in draw order.
    /// @return newCount `count - 3`.
    function drawThree(
        mapping(uint256 position => address member) storage members,
        uint256 count,
        uint256 seed,
        function(address, uint256) internal setIndex
    ) internal returns (address[3] memory drawn, uint256 newCount) {
        ThreeDraw.Plan memory plan = ThreeDraw.plan(seed, count);
        for (uint256 k; k < 3; ++k) drawn[k] = members[plan.picked[k]];
        // The drawn members left holes below the new count; survivors from the last three positions fill them.
        for (uint256 i; i < plan.moves; ++i) {
            address moved = members[plan.fillers[i]];
            members[plan.holes[i]] = moved;
            setIndex(moved, plan.holes[i]);
        }
        newCount = count - 3;
    }
}
