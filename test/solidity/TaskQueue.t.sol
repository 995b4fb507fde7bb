// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {NodeTriple} from "../../contracts/libraries/NodeTriple.sol";
import {TaskQueue, TaskQueueLib} from "../../contracts/libraries/TaskQueue.sol";

/// A queue with its links in a mapping, as TaskManager keeps them in its tasks.
contract TaskQueueHarness {
    TaskQueue public queue;
    mapping(uint256 id => NodeTriple) internal _links;

    function enqueue(uint32 id) external {
        queue = queue.enqueue(id, _links[id], _linksOf);
    }

    function remove(uint32 id) external {
        queue = queue.remove(_links[id], _linksOf);
    }

    function dequeue(uint32 id) external {
        queue = queue.dequeue(_links[id], _linksOf);
    }

    function head() external view returns (uint32) {
        return queue.head();
    }

    function tail() external view returns (uint32) {
        return queue.tail();
    }

    function length() external view returns (uint16) {
        return queue.length();
    }

    function next(uint32 id) external view returns (uint32) {
        return TaskQueueLib.next(_links[id]);
    }

    function prev(uint32 id) external view returns (uint32) {
        return TaskQueueLib.prev(_links[id]);
    }

    function rawLinks(uint32 id) external view returns (uint256) {
        return _links[id].low;
    }

    function _linksOf(uint256 id) private view returns (NodeTriple storage) {
        return _links[id];
    }
}

/// forge-config: default.fuzz.runs = 128
contract TaskQueueTest {
    /// Random enqueues and removals from any position against an array model: same order both ways, same ends
    /// and length, and a dequeued entry's links cleared.
    function testFuzz_matchesArrayModel(uint256 seed, uint8 stepsSeed) public {
        TaskQueueHarness q = new TaskQueueHarness();
        uint32[] memory model = new uint32[](64);
        uint256 size;
        uint32 nextId = 1;
        uint256 steps = 1 + (uint256(stepsSeed) % 96);
        for (uint256 s; s < steps; ++s) {
            uint256 r = uint256(keccak256(abi.encode(seed, s)));
            if (size == 0 || (r % 3 != 0 && size < model.length)) {
                q.enqueue(nextId);
                model[size++] = nextId++;
            } else {
                uint256 position = (r >> 8) % size;
                uint32 id = model[position];
                bool clear = (r >> 16) & 1 == 1;
                if (clear) q.dequeue(id);
                else q.remove(id);
                for (uint256 i = position; i + 1 < size; ++i) model[i] = model[i + 1];
                --size;
                if (clear) require(q.rawLinks(id) == 0, "dequeued links left");
            }
            _assertSame(q, model, size);
        }
    }

    /// The cases a fuzzer may reach rarely: removing the only, the head, the tail and a middle entry.
    function test_removeEachPosition() public {
        TaskQueueHarness q = new TaskQueueHarness();
        q.enqueue(7);
        q.dequeue(7);
        require(q.head() == 0 && q.tail() == 0 && q.length() == 0, "not empty after removing the only entry");
        for (uint32 id = 1; id <= 4; ++id) q.enqueue(id);
        q.dequeue(1); // head
        q.dequeue(4); // tail
        require(q.head() == 2 && q.tail() == 3 && q.length() == 2, "ends after head and tail removal");
        q.enqueue(5);
        q.dequeue(3); // middle
        require(q.next(2) == 5 && q.prev(5) == 2 && q.prev(2) == 0 && q.next(5) == 0, "links around the middle");
    }

    /// Id 0 means "none" and cannot be queued.
    function test_enqueueZeroReverts() public {
        TaskQueueHarness q = new TaskQueueHarness();
        try q.enqueue(0) {
            revert("id 0 queued");
        } catch (bytes memory reason) {
            require(bytes4(reason) == TaskQueueLib.InvalidQueueEntry.selector, "wrong error");
        }
    }

    function _assertSame(TaskQueueHarness q, uint32[] memory model, uint256 size) private view {
        require(q.length() == size, "length");
        require(q.head() == (size == 0 ? 0 : model[0]), "head");
        require(q.tail() == (size == 0 ? 0 : model[size - 1]), "tail");
        uint32 id = q.head();
        uint32 before;
        for (uint256 i; i < size; ++i) {
            require(id == model[i], "order");
            require(q.prev(id) == before, "prev link");
            before = id;
            id = q.next(id);
        }
        require(id == 0, "list longer than the model");
    }
}
