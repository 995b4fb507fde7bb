// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A task's three node addresses (480 bits) packed into two words: `low` = nodes[0] | the low 96 bits
/// of nodes[1] << 160, `high` = the high 64 bits of nodes[1] | nodes[2] << 64. `high` is 0 until the task
/// starts; while it is queued, `low` holds its queue links instead (see TaskQueue).
struct NodeTriple {
    uint256 low;
    uint256 high;
}

using NodeTripleLib for NodeTriple global;

/// @title Packing and lookup of a NodeTriple
/// @notice Stores a task's three node addresses in two slots and finds a node's seat among them.
library NodeTripleLib {
    /// @notice Writes the three addresses (two storage writes).
    function store(NodeTriple storage self, address[3] memory nodes) internal {
        self.low = uint256(uint160(nodes[0])) | (uint256(uint160(nodes[1])) << 160);
        self.high = (uint256(uint160(nodes[1])) >> 96) | (uint256(uint160(nodes[2])) << 64);
    }

    /// @notice Whether the triple holds nodes (the task started).
    function isSet(NodeTriple storage self) internal view returns (bool) {
        return self.high != 0;
    }

    /// @notice The three addresses.
    function load(NodeTriple storage self) internal view returns (address[3] memory nodes) {
        uint256 low = self.low;
        uint256 high = self.high;
        nodes[0] = address(uint160(low));
        nodes[1] = address(uint160((low >> 160) | (high << 96)));
        nodes[2] = address(uint160(high >> 64));
    }

    /// @notice The position (0..2) of `node`, or 3 when absent; reads `high` only when `node` is not first.
    function indexOf(NodeTriple storage self, address node) internal view returns (uint256) {
        uint256 low = self.low;
        if (address(uint160(low)) == node) return 0;
        uint256 high = self.high;
        if (address(uint160((low >> 160) | (high << 96))) == node) return 1;
        if (address(uint160(high >> 64)) == node) return 2;
        return 3;
    }
}
