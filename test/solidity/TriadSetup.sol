// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TriadToken} from "../../contracts/TriadToken.sol";
import {NodeRegistry} from "../../contracts/NodeRegistry.sol";
import {TaskManager} from "../../contracts/TaskManager.sol";
import {BlockhashRandomness} from "../../contracts/BlockhashRandomness.sol";
import {INodePool} from "../../contracts/interfaces/INodePool.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {vm} from "./Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @dev Deploys a wired Triad system with this contract as governor (and minter), with two card groups:
/// GROUP_SMALL ("RTX4090", 24 GB) and GROUP_BIG ("H100", 80 GB), and two models: MODEL_SMALL (1 GB, enabled on
/// both groups) and MODEL_BIG (48 GB, enabled on GROUP_BIG only).
abstract contract TriadSetup {
    uint256 internal constant STAKE = 400 ether;
    uint256 internal constant MIN_FEE = 1 ether;
    uint64 internal constant QUEUE_WINDOW = 600;
    uint64 internal constant COMMIT_WINDOW = 120;
    uint64 internal constant REVEAL_WINDOW = 120;
    address internal constant TREASURY = address(0x7EA5);

    uint256 internal constant GROUP_SMALL = 0;
    uint256 internal constant GROUP_BIG = 1;
    uint256 internal constant MODEL_SMALL = 0;
    uint256 internal constant MODEL_BIG = 1;

    TriadToken internal token;
    NodeRegistry internal registry;
    TaskManager internal taskManager;
    BlockhashRandomness internal randomness;

    function _deployTriad(uint16 nodeShareBps, uint16 maxQueueLength) internal {
        token = new TriadToken(address(this));
        randomness = new BlockhashRandomness();
        // The registry is wired to the task manager deployed right after it (this contract's next nonce).
        address predicted = _createAddress(address(this), vm.getNonce(address(this)) + 1);
        registry = new NodeRegistry(IERC20(address(token)), address(this), TREASURY, STAKE, predicted);
        taskManager = new TaskManager(
            TaskManager.Config({
                token: IERC20(address(token)),
                nodePool: INodePool(address(registry)),
                randomness: randomness,
                admin: address(this),
                treasury: TREASURY,
                minFee: MIN_FEE,
                queueWindow: QUEUE_WINDOW,
                commitWindow: COMMIT_WINDOW,
                revealWindow: REVEAL_WINDOW,
                nodeShareBps: nodeShareBps,
                slashBps: 10_000,
                maxQueueLength: maxQueueLength,
                autoDispatchScan: 4
            })
        );
        require(address(taskManager) == predicted, "task manager address not as predicted");
        registry.addGroup("RTX4090", 24);
        registry.addGroup("H100", 80);
        registry.registerModel("stories260K", "main", keccak256("stories260K files"), [uint32(1), 1, 1, 1, 0], IModelRegistry.Variant.Fp32);
        // Its smallest variant (q4f16) needs 48 GB: only the H100 group may enable it.
        registry.registerModel("big-model", "v1", keccak256("big-model files"), [uint32(64), 0, 0, 0, 48], IModelRegistry.Variant.Q4f16);
        registry.enableModel(GROUP_SMALL, MODEL_SMALL);
        registry.enableModel(GROUP_BIG, MODEL_SMALL);
        registry.enableModel(GROUP_BIG, MODEL_BIG);
    }

    /// @dev The CREATE address for a deployer nonce below 128 (RLP of [deployer, nonce]).
    function _createAddress(address deployer, uint256 nonce) internal pure returns (address) {
        require(nonce > 0 && nonce < 128, "nonce out of range");
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xd6), bytes1(0x94), deployer, uint8(nonce))))));
    }
}
