// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {vm} from "./Vm.sol";
import {TriadToken} from "../../contracts/TriadToken.sol";
import {NodeRegistry} from "../../contracts/NodeRegistry.sol";
import {TaskManager} from "../../contracts/TaskManager.sol";
import {INodePool} from "../../contracts/interfaces/INodePool.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {ITaskManager} from "../../contracts/interfaces/ITaskManager.sol";
import {IRandomnessSource} from "../../contracts/interfaces/IRandomnessSource.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @dev A push source that, once armed, calls back into the task manager from inside `request` (the worst a
/// compromised VRF adapter could do): a delivery, a dispatch and a cancel, each recording how it was refused.
contract ReentrantSource is IRandomnessSource {
    TaskManager public consumer;
    bool public armed;
    bool public reentered;
    bytes[] public refusals;

    function setConsumer(TaskManager consumer_) external {
        consumer = consumer_;
    }

    function arm() external {
        armed = true;
    }

    function pushes() external pure returns (bool) {
        return true;
    }

    function request(uint256 taskId) external returns (uint256) {
        if (!armed) return 1;
        try consumer.onRandomness(taskId, 1) {
            reentered = true;
        } catch (bytes memory reason) {
            refusals.push(reason);
        }
        try consumer.dispatch(1) {
            reentered = true;
        } catch (bytes memory reason) {
            refusals.push(reason);
        }
        try consumer.cancel(taskId) {
            reentered = true;
        } catch (bytes memory reason) {
            refusals.push(reason);
        }
        return 1;
    }

    /// @dev A normal delivery, outside any task manager call.
    function deliver(uint256 taskId, uint256 word) external {
        consumer.onRandomness(taskId, word);
    }

    function refusalCount() external view returns (uint256) {
        return refusals.length;
    }

    function isReady(uint256) external pure returns (bool) {
        return false;
    }

    function isStale(uint256) external pure returns (bool) {
        return false;
    }

    function randomness(uint256) external pure returns (uint256) {
        revert("push source");
    }
}

/// @dev A push source whose request for one task needs `need` gas and otherwise burns everything it was given (as
/// running out of gas does): a source with a costly request, against which a caller might starve the request.
contract GreedySource is IRandomnessSource {
    TaskManager public consumer;
    uint256 public greedyTask;
    uint256 public need;

    function setConsumer(TaskManager consumer_) external {
        consumer = consumer_;
    }

    function makeGreedy(uint256 taskId, uint256 need_) external {
        greedyTask = taskId;
        need = need_;
    }

    function pushes() external pure returns (bool) {
        return true;
    }

    function request(uint256 taskId) external view returns (uint256) {
        uint256 burnt;
        // Short of `need`: spin until out of gas, as a request that costs more than it was given does.
        while (taskId == greedyTask && gasleft() < need) ++burnt;
        return 1;
    }

    function deliver(uint256 taskId, uint256 word) external {
        consumer.onRandomness(taskId, word);
    }

    function isReady(uint256) external pure returns (bool) {
        return false;
    }

    function isStale(uint256) external pure returns (bool) {
        return false;
    }

    function randomness(uint256) external pure returns (uint256) {
        revert("push source");
    }
}

/// @dev One card group with one registered model over a given randomness source; this contract holds the fees.
abstract contract OneGroupTriad {
    uint256 internal constant STAKE = 400 ether;
    address internal constant TREASURY = address(0x7EA5);

    TriadToken internal token;
    NodeRegistry internal registry;
    TaskManager internal taskManager;

    function _deploy(IRandomnessSource source) internal {
        token = new TriadToken(address(this));
        address predicted = _createAddress(address(this), vm.getNonce(address(this)) + 1);
        registry = new NodeRegistry(IERC20(address(token)), address(this), TREASURY, STAKE, predicted);
        taskManager = new TaskManager(
            TaskManager.Config({
                token: IERC20(address(token)),
                nodePool: INodePool(address(registry)),
                randomness: source,
                admin: address(this),
                treasury: TREASURY,
                minFee: 1 ether,
                queueWindow: 600,
                commitWindow: 120,
                revealWindow: 120,
                nodeShareBps: 9_500,
                slashBps: 10_000,
                maxQueueLength: 16,
                autoDispatchScan: 4
            })
        );
        require(address(taskManager) == predicted, "task manager address not as predicted");
        registry.addGroup("RTX4090", 24);
        registry.registerModel("m", "main", keccak256("m"), [uint32(1), 0, 0, 0, 0], IModelRegistry.Variant.Fp32);
        registry.enableModel(0, 0);
        token.mint(address(this), 100 ether);
        token.approve(address(taskManager), type(uint256).max);
    }

    function _joinThreeNodes() internal {
        for (uint160 i = 1; i <= 3; ++i) {
            address node = address(0x1000 + i);
            token.mint(node, STAKE);
            vm.startPrank(node);
            token.approve(address(registry), STAKE);
            registry.join(0);
            vm.stopPrank();
        }
    }

    /// @dev The CREATE address for a deployer nonce below 128 (RLP of [deployer, nonce]).
    function _createAddress(address deployer, uint256 nonce) internal pure returns (address) {
        require(nonce > 0 && nonce < 128, "nonce out of range");
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xd6), bytes1(0x94), deployer, uint8(nonce))))));
    }
}

/// The randomness callback cannot re-enter the task manager while it escrows, queues or dispatches.
contract ReentrancyTest is OneGroupTriad {
    ReentrantSource internal source;

    function setUp() public {
        source = new ReentrantSource();
        _deploy(source);
        source.setConsumer(taskManager);
        _joinThreeNodes();
    }

    function test_sourceCannotReenterCreateTask() public {
        source.arm();
        uint256 taskId = taskManager.createTask(keccak256("args"), 0, 16, 10 ether);
        require(!source.reentered(), "a call back into the task manager succeeded");
        require(source.refusalCount() == 3, "expected three refused calls");
        bytes memory guard = abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        for (uint256 i; i < 3; ++i) require(keccak256(source.refusals(i)) == keccak256(guard), "refused by something else");
        ITaskManager.TaskInfo memory task = taskManager.getTask(taskId);
        require(task.status == ITaskManager.TaskStatus.Queued, "not queued");
        require(taskManager.requestIdOf(taskId) == 1, "request not pending");
        require(token.balanceOf(address(taskManager)) == 10 ether, "fee not escrowed");
        // The word delivered afterwards, outside the task manager's own call, draws the task as usual.
        source.deliver(taskId, 7);
        require(taskManager.getTask(taskId).status == ITaskManager.TaskStatus.Committing, "not started");
    }
}

/// A caller cannot starve the randomness request that createTask's (or a settlement's) dispatch makes for a waiting
/// task by sending just enough gas for the rest of the transaction: it either makes the request or reverts.
contract RequestStarvationTest is OneGroupTriad {
    uint256 internal constant NEED = 12_000_000;

    GreedySource internal source;

    function setUp() public {
        source = new GreedySource();
        _deploy(source);
        source.setConsumer(taskManager);
        // Task 1 waits: its word came while no node was free, so the next dispatch requests a fresh one.
        taskManager.createTask(keccak256("first"), 0, 16, 10 ether);
        source.deliver(1, 7);
        _joinThreeNodes();
        source.makeGreedy(1, NEED);
    }

    function test_requestIsMadeOrTheTransactionReverts() public {
        require(taskManager.requestIdOf(1) == 0, "task 1 should wait for a fresh request");
        uint256 succeeded;
        for (uint256 gas = NEED - 4_000_000; gas <= NEED + 2_000_000; gas += 250_000) {
            uint256 snapshot = vm.snapshotState();
            try taskManager.createTask{gas: gas}(keccak256("second"), 0, 16, 10 ether) {
                ++succeeded;
                require(taskManager.requestIdOf(1) == 1, "createTask succeeded with task 1's request starved");
            } catch {} // too little gas: the whole call reverted
            vm.revertToState(snapshot);
        }
        require(succeeded > 0, "no gas limit in the range let createTask through");
    }
}
