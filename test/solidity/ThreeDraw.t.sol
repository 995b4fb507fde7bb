// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ThreeDraw} from "../../contracts/libraries/ThreeDraw.sol";
import {NodeTriple} from "../../contracts/libraries/NodeTriple.sol";

/// forge-config: default.fuzz.runs = 256
contract ThreeDrawTest {
    NodeTriple internal triple;

    /// The in-memory plan picks the same members as three real swap-and-pops and leaves the same array.
    function testFuzz_planMatchesThreeSwapAndPops(uint256 seed, uint16 countSeed) public pure {
        uint256 count = 3 + (uint256(countSeed) % 300);
        uint256[] memory real = new uint256[](count);
        for (uint256 i; i < count; ++i) real[i] = i;
        uint256[3] memory realPicked;
        uint256 size = count;
        for (uint256 k; k < 3; ++k) {
            uint256 index = ThreeDraw.indexOf(seed, k, size);
            realPicked[k] = real[index];
            real[index] = real[size - 1];
            --size;
        }

        ThreeDraw.Plan memory plan = ThreeDraw.plan(seed, count);
        uint256[] memory planned = new uint256[](count);
        for (uint256 i; i < count; ++i) planned[i] = i;
        for (uint256 i; i < plan.moves; ++i) planned[plan.holes[i]] = plan.fillers[i];
        for (uint256 k; k < 3; ++k) require(plan.picked[k] == realPicked[k], "different pick");
        for (uint256 i; i < count - 3; ++i) require(planned[i] == real[i], "different survivors");
        require(plan.picked[0] != plan.picked[1] && plan.picked[1] != plan.picked[2] && plan.picked[0] != plan.picked[2], "repeat");
    }

    /// Exactly three members: every one is drawn, nothing moves.
    function test_threeMembersAllDrawn() public pure {
        ThreeDraw.Plan memory plan = ThreeDraw.plan(42, 3);
        require(plan.moves == 0, "moved");
        require(plan.picked[0] + plan.picked[1] + plan.picked[2] == 3, "not 0, 1, 2");
    }

    /// The packed triple stores and finds any three addresses.
    function testFuzz_nodeTripleRoundTrip(address a, address b, address c, address other) public {
        if (a == address(0) && b == address(0) && c == address(0)) return;
        triple.store([a, b, c]);
        address[3] memory loaded = triple.load();
        require(loaded[0] == a && loaded[1] == b && loaded[2] == c, "round trip");
        require(triple.indexOf(a) == 0, "a");
        if (b != a) require(triple.indexOf(b) == 1, "b");
        if (c != a && c != b) require(triple.indexOf(c) == 2, "c");
        if (other != a && other != b && other != c) require(triple.indexOf(other) == 3, "absent found");
    }
}
