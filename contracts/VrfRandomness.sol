// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IVRFCoordinatorV2Plus} from "@chainlink/contracts/src/v0.8/vrf/dev/interfaces/IVRFCoordinatorV2Plus.sol";
import {VRFV2PlusClient} from "@chainlink/contracts/src/v0.8/vrf/dev/libraries/VRFV2PlusClient.sol";
import {IRandomnessConsumer, IRandomnessSource} from "./interfaces/IRandomnessSource.sol";

/// @title Chainlink VRF v2.5 randomness, pushed to the task manager
/// @notice Requests one random word per task from a VRF v2.5 coordinator (paid by a subscription that lists
/// this contract as a consumer) and hands it to the consumer inside the coordinator's fulfilment transaction,
/// where the consumer draws the nodes at once. Coordinator, key hash, subscription and consumer are fixed at
/// construction (no owner can point it at another coordinator). The fulfilment never reverts: a failing
/// consumer call is caught and reported (the task then waits for its queue deadline, refunded by `expire`).
contract VrfRandomness is IRandomnessSource {
    error OnlyCoordinator(address caller, address coordinator);
    error OnlyConsumer(address caller, address consumer);
    error ZeroAddress();
    error NotAPullSource();

    /// @notice A random word was requested from the coordinator for `taskId`.
    event VrfRequested(uint256 indexed requestId, uint256 indexed taskId);
    /// @notice The coordinator's word was handed to the consumer, which drew the task's nodes.
    event VrfDelivered(uint256 indexed requestId, uint256 indexed taskId);
    /// @notice The consumer reverted on delivery (caught: the coordinator never retries); `reason` is its revert data.
    event VrfDeliveryFailed(uint256 indexed requestId, uint256 indexed taskId, bytes reason);

    /// @notice The Chainlink VRF v2.5 coordinator asked for words.
    IVRFCoordinatorV2Plus public immutable coordinator;
    /// @notice The task manager the words are delivered to.
    IRandomnessConsumer public immutable consumer;
    /// @notice The coordinator's gas lane.
    bytes32 public immutable keyHash;
    /// @notice The subscription billed for the requests.
    uint256 public immutable subscriptionId;
    /// @notice Gas the coordinator gives the delivery (the draw runs in it).
    uint32 public immutable callbackGasLimit;
    /// @notice Blocks the coordinator waits before answering.
    uint16 public immutable requestConfirmations;
    /// @notice Whether the subscription pays in the native coin instead of LINK.
    bool public immutable nativePayment;

    /// @dev Request id -> task id + 1 (0: unknown or already delivered).
    mapping(uint256 requestId => uint256 taskIdPlusOne) private _taskOf;

    /// @notice Deployment configuration.
    struct Config {
        IVRFCoordinatorV2Plus coordinator;
        IRandomnessConsumer consumer;
        bytes32 keyHash;
        uint256 subscriptionId;
        uint32 callbackGasLimit;
        uint16 requestConfirmations;
        bool nativePayment;
    }

    /// @param config Coordinator, consumer (the task manager), key hash, subscription and request settings.
    constructor(Config memory config) {
        if (address(config.coordinator) == address(0) || address(config.consumer) == address(0)) revert ZeroAddress();
        coordinator = config.coordinator;
        consumer = config.consumer;
        keyHash = config.keyHash;
        subscriptionId = config.subscriptionId;
        callbackGasLimit = config.callbackGasLimit;
        requestConfirmations = config.requestConfirmations;
        nativePayment = config.nativePayment;
    }

    /// @inheritdoc IRandomnessSource
    function pushes() external pure returns (bool) {
        return true;
    }

    /// @inheritdoc IRandomnessSource
    function request(uint256 taskId) external returns (uint256 requestId) {
        if (msg.sender != address(consumer)) revert OnlyConsumer(msg.sender, address(consumer));
        requestId = coordinator.requestRandomWords(
            VRFV2PlusClient.RandomWordsRequest({
                keyHash: keyHash,
                subId: subscriptionId,
                requestConfirmations: requestConfirmations,
                callbackGasLimit: callbackGasLimit,
                numWords: 1,
                extraArgs: VRFV2PlusClient._argsToBytes(VRFV2PlusClient.ExtraArgsV1({nativePayment: nativePayment}))
            })
        );
        _taskOf[requestId] = taskId + 1;
        emit VrfRequested(requestId, taskId);
    }

    /// @notice Called by the coordinator with the verified random words of `requestId`.
    /// @param requestId The coordinator's request id.
    /// @param randomWords The words (one is requested).
    function rawFulfillRandomWords(uint256 requestId, uint256[] calldata randomWords) external {
        if (msg.sender != address(coordinator)) revert OnlyCoordinator(msg.sender, address(coordinator));
        uint256 taskIdPlusOne = _taskOf[requestId];
        if (taskIdPlusOne == 0 || randomWords.length == 0) return;
        delete _taskOf[requestId];
        uint256 taskId = taskIdPlusOne - 1;
        try consumer.onRandomness(taskId, randomWords[0]) {
            emit VrfDelivered(requestId, taskId);
        } catch (bytes memory reason) {
            emit VrfDeliveryFailed(requestId, taskId, reason);
        }
    }

    /// @notice The task a pending request is for, and whether it is still pending.
    /// @param requestId The coordinator's request id.
    function pendingTask(uint256 requestId) external view returns (bool pending, uint256 taskId) {
        uint256 plusOne = _taskOf[requestId];
        return (plusOne != 0, plusOne == 0 ? 0 : plusOne - 1);
    }

    /// @inheritdoc IRandomnessSource
    function isReady(uint256) external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IRandomnessSource
    function isStale(uint256) external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IRandomnessSource
    function randomness(uint256) external pure returns (uint256) {
        revert NotAPullSource();
    }
}
