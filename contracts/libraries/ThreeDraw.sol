// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Three swap-and-pop draws, simulated in memory
/// @notice Drawing three distinct members of a swap-and-pop array `a[0 .. count)` one after the other (draw
/// k takes `a[i]` with `i = keccak256(seed, k) % (count - k)`, then moves the last element into `i` and
/// shrinks) touches up to nine storage slots. This library computes the same three picks in memory and says
/// which survivors must move where, so the caller writes every position once.
library ThreeDraw {
    struct Plan {
        uint256[3] picked; // the positions drawn, in draw order
        uint256[3] holes; // positions below count - 3 emptied by a draw ...
        uint256[3] fillers; // ... and the survivor (from the last three positions) that moves into each
        uint256 moves; // number of (hole, filler) pairs
    }

    /// @notice The index of draw `k` among `size` remaining members.
    function indexOf(uint256 seed, uint256 k, uint256 size) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, k))) % size;
    }

    /// @notice Plans three draws from `count` (>= 3) members.
    function plan(uint256 seed, uint256 count) internal pure returns (Plan memory p) {
        // The simulated array differs from storage only at `positions[i]`, which holds what storage has at
        // `sources[i]`.
        uint256[3] memory positions;
        uint256[3] memory sources;
        uint256 overrides;
        for (uint256 k; k < 3; ++k) {
            uint256 size = count - k;
            uint256 index = indexOf(seed, k, size);
            p.picked[k] = _storedAt(positions, sources, overrides, index);
            uint256 last = _storedAt(positions, sources, overrides, size - 1);
            uint256 i;
            while (i < overrides && positions[i] != index) ++i;
            if (i == overrides) ++overrides;
            positions[i] = index;
            sources[i] = last;
        }
        for (uint256 i; i < overrides; ++i) {
            if (positions[i] < count - 3 && sources[i] != positions[i]) {
                p.holes[p.moves] = positions[i];
                p.fillers[p.moves] = sources[i];
                ++p.moves;
            }
        }
    }

    function _storedAt(
        uint256[3] memory positions,
        uint256[3] memory sources,
        uint256 overrides,
        uint256 position
    ) private pure returns (uint256) {
        for (uint256 i; i < overrides; ++i) {
            if (positions[i] == position) return sources[i];
        }
        return position;
    }
}
