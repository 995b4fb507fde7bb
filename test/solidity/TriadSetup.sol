// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TriadToken} from "../../contracts/TriadToken.sol";
import {NodeRegistry} from "../../contracts/NodeRegistry.sol";
import {TaskManager} from "../../contracts/TaskManager.sol";
import {BlockhashRandomness} from "../../contracts/BlockhashRandomness.sol";
import {INodePool} from "../../contracts/interfaces/INodePool.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @dev Deploys a wired Triad system with this contract as admin (and minter).
abstract contract TriadSetup {
    uint256 internal constant STAKE = 400 ether;
    uint256 internal constant MIN_FEE = 1 ether;
    uint64 internal constant QUEUE_WINDOW = 600;
    uint64 internal constant COMMIT_WINDOW = 120;
    uint64 internal constant REVEAL_WINDOW = 120;
    address internal constant TREASURY = address(0x7EA5);

    TriadToken internal token;
    NodeRegistry internal registry;
    TaskManager internal taskManager;
    BlockhashRandomness internal randomness;

    function _deployTriad(uint16 nodeShareBps, uint16 maxQueueLength) internal {
        token = new TriadToken(address(this));
        randomness = new BlockhashRandomness();
        registry = new NodeRegistry(IERC20(address(token)), address(this), TREASURY, STAKE, 10_000);
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
                maxQueueLength: maxQueueLength,
                autoDispatchScan: 4
            })
        );
        registry.grantRole(registry.TASK_MANAGER_ROLE(), address(taskManager));
    }
}
