// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {NodeTriple} from "./NodeTriple.sol";

/// @notice A first-in first-out queue of ids (1 .. 2^32 - 1) that also lets any entry leave early: a doubly
/// linked list whose ends and length are packed into 80 bits (head: bits 0-31, tail: bits 32-63, length: bits
/// 64-79), so that the queue shares a storage slot with whatever the caller reads with it. An entry's links live
/// in the `low` word of its own (still empty) NodeTriple (prev: bits 0-31, next: bits 32-63): a task's node
/// slots are unused while it waits, so queueing writes no slot that is later cleared. Id 0 means "none".
type TaskQueue is uint80;

using TaskQueueLib for TaskQueue global;

/// @title Operations on a TaskQueue
/// @notice Every operation takes the storage of the entry it moves and a lookup `linksOf(id)` for its
/// neighbours' links, and returns the queue's new ends for the caller to store.
library TaskQueueLib {
    uint256 private constant LINK_MASK = type(uint32).max;

    /// @notice Enqueueing id 0 (which means "none").
    error InvalidQueueEntry(uint256 id);

    /// @notice The oldest entry, 0 when empty.
    function head(TaskQueue self) internal pure returns (uint32) {
        return uint32(TaskQueue.unwrap(self));
    }

    /// @notice The newest entry, 0 when empty.
    function tail(TaskQueue self) internal pure returns (uint32) {
        return uint32(TaskQueue.unwrap(self) >> 32);
    }

    /// @notice Number of entries.
    function length(TaskQueue self) internal pure returns (uint16) {
        return uint16(TaskQueue.unwrap(self) >> 64);
    }

    /// @notice The entry after the one whose links are `links` (0 for the tail).
    function next(NodeTriple storage links) internal view returns (uint32) {
        return uint32(links.low >> 32);
    }

    /// @notice The entry before the one whose links are `links` (0 for the head).
    function prev(NodeTriple storage links) internal view returns (uint32) {
        return uint32(links.low);
    }

    /// @notice Appends `id` at the tail. `links` are its links and must be zero (a fresh entry; not checked here,
    /// since reading a slot that may stay untouched would cost a cold read).
    /// @param linksOf Returns the links of a queued id.
    function enqueue(
        TaskQueue self,
        uint32 id,
        NodeTriple storage links,
        function(uint256) internal view returns (NodeTriple storage) linksOf
    ) internal returns (TaskQueue) {
        if (id == 0) revert InvalidQueueEntry(id);
        uint32 last = tail(self);
        uint32 first = head(self);
        if (last == 0) {
            first = id;
        } else {
            linksOf(last).low |= uint256(id) << 32;
            links.low = last;
        }
        return _pack(first, id, length(self) + 1);
    }

    /// @notice Unlinks the entry whose links are `links` from any position. Its own links are left as they were,
    /// for a caller that overwrites them anyway (see `dequeue` to clear them).
    /// @param linksOf Returns the links of a queued id.
    function remove(
        TaskQueue self,
        NodeTriple storage links,
        function(uint256) internal view returns (NodeTriple storage) linksOf
    ) internal returns (TaskQueue) {
        uint256 link = links.low;
        uint32 before = uint32(link);
        uint32 after_ = uint32(link >> 32);
        uint32 first = head(self);
        uint32 last = tail(self);
        if (before == 0) {
            first = after_;
        } else {
            NodeTriple storage b = linksOf(before);
            b.low = (b.low & ~(LINK_MASK << 32)) | (uint256(after_) << 32);
        }
        if (after_ == 0) {
            last = before;
        } else {
            NodeTriple storage a = linksOf(after_);
            a.low = (a.low & ~LINK_MASK) | before;
        }
        return _pack(first, last, length(self) - 1);
    }

    /// @notice Unlinks the entry whose links are `links` from any position and clears its links.
    /// @param linksOf Returns the links of a queued id.
    function dequeue(
        TaskQueue self,
        NodeTriple storage links,
        function(uint256) internal view returns (NodeTriple storage) linksOf
    ) internal returns (TaskQueue queue) {
        queue = remove(self, links, linksOf);
        if (links.low != 0) links.low = 0;
    }

    function _pack(uint32 first, uint32 last, uint16 count) private pure returns (TaskQueue) {
        return TaskQueue.wrap(uint80(first) | (uint80(last) << 32) | (uint80(count) << 64));
    }
}
