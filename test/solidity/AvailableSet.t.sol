// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AvailableSet} from "../../contracts/libraries/AvailableSet.sol";
import {ThreeDraw} from "../../contracts/libraries/ThreeDraw.sol";

/// An AvailableSet with its positions recorded in a mapping, as NodeRegistry records them in its nodes.
contract AvailableSetHarness {
    mapping(uint256 position => address member) internal _members;
    mapping(address member => uint256 position) public indexOf;
    uint256 public count;

    function add(address member) external {
        indexOf[member] = count;
        count = AvailableSet.add(_members, count, member);
    }

    function remove(address member) external {
        count = AvailableSet.remove(_members, count, indexOf[member], _setIndex);
    }

    function removeAt(uint256 index) external returns (address member) {
        member = _members[index];
        count = AvailableSet.remove(_members, count, index, _setIndex);
    }

    function drawThree(uint256 seed) external returns (address[3] memory drawn) {
        (drawn, count) = AvailableSet.drawThree(_members, count, seed, _setIndex);
    }

    function memberAt(uint256 index) external view returns (address) {
        return _members[index];
    }

    function _setIndex(address member, uint256 index) private {
        indexOf[member] = index;
    }
}

/// forge-config: default.fuzz.runs = 128
contract AvailableSetTest {
    /// The in-memory three-node draw takes the same members as three real swap-and-pops and leaves the same
    /// members in the same positions, with every survivor's recorded position right.
    function testFuzz_drawThreeEqualsThreeSwapAndPops(uint256 seed, uint8 countSeed, uint8 removedSeed) public {
        uint256 count = 3 + (uint256(countSeed) % 40);
        AvailableSetHarness drawn = new AvailableSetHarness();
        AvailableSetHarness popped = new AvailableSetHarness();
        // Some members joined and left before the draw, so positions no longer follow join order.
        uint256 extra = uint256(removedSeed) % 8;
        for (uint256 i; i < count + extra; ++i) {
            drawn.add(_member(i));
            popped.add(_member(i));
        }
        for (uint256 j; j < extra; ++j) {
            address leaving = _member(uint256(keccak256(abi.encode(seed, "leave", j))) % (count + extra));
            if (drawn.memberAt(drawn.indexOf(leaving)) != leaving || drawn.indexOf(leaving) >= drawn.count()) continue;
            drawn.remove(leaving);
            popped.remove(leaving);
        }
        uint256 size = drawn.count();
        require(size >= count, "too few left");

        address[3] memory picks = drawn.drawThree(seed);
        for (uint256 k; k < 3; ++k) {
            address real = popped.removeAt(ThreeDraw.indexOf(seed, k, size - k));
            require(picks[k] == real, "different member drawn");
        }
        require(drawn.count() == size - 3 && popped.count() == size - 3, "count");
        for (uint256 i; i < size - 3; ++i) {
            address member = popped.memberAt(i);
            require(drawn.memberAt(i) == member, "different survivors");
            require(drawn.indexOf(member) == i && popped.indexOf(member) == i, "stale position record");
            for (uint256 k; k < 3; ++k) require(member != picks[k], "drawn member still in the set");
        }
    }

    /// Removing the last member moves nobody; removing another moves the last into its place.
    function test_removeSwapsTheLastIn() public {
        AvailableSetHarness set = new AvailableSetHarness();
        for (uint256 i; i < 4; ++i) set.add(_member(i));
        set.remove(_member(3));
        require(set.count() == 3 && set.memberAt(2) == _member(2), "last removal moved a member");
        set.remove(_member(0));
        require(set.count() == 2 && set.memberAt(0) == _member(2) && set.indexOf(_member(2)) == 0, "swap");
        require(set.memberAt(1) == _member(1) && set.indexOf(_member(1)) == 1, "untouched member moved");
    }

    function _member(uint256 i) private pure returns (address) {
        return address(uint160(0x1000 + i));
    }
}
