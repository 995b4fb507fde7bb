/**
 * Typed deployment of the Triad contracts. Importable from plain Node (tsx) and from Hardhat tasks:
 * it only needs an ethers Signer and the typechain factories produced by `npx hardhat build`.
 */
import { ethers } from "ethers";
import {
  BlockhashRandomness__factory,
  NodeRegistry__factory,
  TaskManager__factory,
  TimelockController__factory,
  TriadToken__factory,
  VRFCoordinatorV2_5Mock__factory,
  VrfRandomness__factory,
} from "../typechain-types/index.js";
import type { TriadDeployment, TriadParams } from "../worker/chain/deployment.js";

/** Chainlink VRF v2.5 settings of a real coordinator (the subscription must add the VrfRandomness contract as a consumer). */
export interface VrfSettings {
  coordinator: string;
  keyHash: string;
  subscriptionId: bigint;
  callbackGasLimit?: number;
  requestConfirmations?: number;
  nativePayment?: boolean;
}

/**
 * Where selection randomness comes from: "vrf-mock" deploys Chainlink's VRFCoordinatorV2_5Mock with a funded
 * subscription (devnets and tests: someone must call its fulfillRandomWords); "blockhash" uses the next block's
 * hash (chains without VRF); an object points at a real VRF v2.5 coordinator.
 */
export type RandomnessChoice = "vrf-mock" | "blockhash" | { vrf: VrfSettings };

/** Gas the VRF coordinator gives the fulfilment: it draws three nodes and starts the task (about 200k). */
export const VRF_CALLBACK_GAS = 600_000;

/** Devnet defaults: real tasks take seconds, so two-minute commit and reveal windows. */
export function defaultParams(treasury: string): TriadParams {
  return {
    stakeAmount: ethers.parseEther("400"),
    slashBps: 10_000,
    minFee: ethers.parseEther("1"),
    queueWindow: 600,
    commitWindow: 120,
    revealWindow: 120,
    nodeShareBps: 9_500,
    maxQueueLength: 64,
    autoDispatchScan: 4,
    treasury,
    governor: treasury,
  };
}

/**
 * Deploys token, randomness source, node registry and task manager. The registry is wired at construction to
 * the task manager deployed right after it (its address is predicted from the deployer's nonce; the task
 * manager's constructor checks the wiring). Governance (`params.governor`) gets the registry's and the task
 * manager's admin role; the deployer keeps the token's MINTER role (the devnet faucet). No card group exists
 * yet: governance adds them (`addGroup`).
 */
export async function deployTriad(
  deployer: ethers.Signer,
  params: Partial<TriadParams> = {},
  randomnessChoice: RandomnessChoice = "blockhash",
): Promise<TriadDeployment> {
  const provider = deployer.provider;
  if (!provider) throw new Error("deployTriad: the deployer signer must be connected to a provider");
  const deployerAddress = await deployer.getAddress();
  const full: TriadParams = { ...defaultParams(deployerAddress), ...params };
  if (params.governor === undefined) full.governor = deployerAddress;
  validateParams(full);
  const firstBlock = await provider.getBlockNumber();

  const token = await new TriadToken__factory(deployer).deploy(deployerAddress);
  await token.waitForDeployment();
  let vrf: VrfSettings | undefined;
  let mock: Awaited<ReturnType<VRFCoordinatorV2_5Mock__factory["deploy"]>> | undefined;
  if (randomnessChoice === "vrf-mock") {
    // Base fee 0.1 LINK, gas price 1 gwei, 1 LINK = 0.004 ETH (the mock's usual test values).
    mock = await new VRFCoordinatorV2_5Mock__factory(deployer).deploy(10n ** 17n, 10n ** 9n, 4n * 10n ** 15n);
    await mock.waitForDeployment();
    await (await mock.createSubscription()).wait();
    const subscriptionId = (await mock.getActiveSubscriptionIds(0, 1))[0]!;
    await (await mock.fundSubscription(subscriptionId, ethers.parseEther("1000000"))).wait();
    vrf = { coordinator: await mock.getAddress(), keyHash: ethers.ZeroHash, subscriptionId };
  } else if (typeof randomnessChoice === "object") {
    vrf = randomnessChoice.vrf;
  }

  // Nonces: randomness source n, registry n + 1, task manager n + 2.
  const nonce = await deployer.getNonce("pending");
  const predictedTaskManager = ethers.getCreateAddress({ from: deployerAddress, nonce: nonce + 2 });
  const randomness = vrf
    ? await new VrfRandomness__factory(deployer).deploy(
        {
          coordinator: vrf.coordinator,
          consumer: predictedTaskManager,
          keyHash: vrf.keyHash,
          subscriptionId: vrf.subscriptionId,
          callbackGasLimit: vrf.callbackGasLimit ?? VRF_CALLBACK_GAS,
          requestConfirmations: vrf.requestConfirmations ?? 3,
          nativePayment: vrf.nativePayment ?? false,
        },
        { nonce },
      )
    : await new BlockhashRandomness__factory(deployer).deploy({ nonce });
  await randomness.waitForDeployment();
  const registry = await new NodeRegistry__factory(deployer).deploy(
    await token.getAddress(),
    full.governor,
    full.treasury,
    full.stakeAmount,
    predictedTaskManager,
    { nonce: nonce + 1 },
  );
  await registry.waitForDeployment();
  const taskManager = await new TaskManager__factory(deployer).deploy(
    {
      token: await token.getAddress(),
      nodePool: await registry.getAddress(),
      randomness: await randomness.getAddress(),
      admin: full.governor,
      treasury: full.treasury,
      minFee: full.minFee,
      queueWindow: full.queueWindow,
      commitWindow: full.commitWindow,
      revealWindow: full.revealWindow,
      nodeShareBps: full.nodeShareBps,
      slashBps: full.slashBps,
      maxQueueLength: full.maxQueueLength,
      autoDispatchScan: full.autoDispatchScan,
    },
    { nonce: nonce + 2 },
  );
  await taskManager.waitForDeployment();
  if ((await taskManager.getAddress()) !== predictedTaskManager) {
    throw new Error("deployTriad: the task manager is not at the predicted address");
  }
  if (mock) await (await mock.addConsumer(vrf!.subscriptionId, await randomness.getAddress())).wait();

  return {
    chainId: Number((await provider.getNetwork()).chainId),
    token: await token.getAddress(),
    nodeRegistry: await registry.getAddress(),
    taskManager: await taskManager.getAddress(),
    randomness: await randomness.getAddress(),
    randomnessKind: vrf ? "vrf" : "blockhash",
    ...(vrf ? { vrfCoordinator: vrf.coordinator } : {}),
    deployer: deployerAddress,
    blockNumber: firstBlock + 1,
    params: full,
  };
}

/**
 * Deploys an OpenZeppelin TimelockController to hold governance: proposals wait `minDelaySeconds` before they
 * can be executed, so nodes can leave before a change they object to. Pass its address as `params.governor`.
 */
export async function deployTimelock(
  deployer: ethers.Signer,
  options: { minDelaySeconds: number; proposers: string[]; executors: string[] },
): Promise<string> {
  if (!Number.isInteger(options.minDelaySeconds) || options.minDelaySeconds < 0) {
    throw new Error(`deployTimelock: minDelaySeconds must be a non-negative integer (got ${options.minDelaySeconds})`);
  }
  if (options.proposers.length === 0) throw new Error("deployTimelock: proposers must name at least one address");
  // No admin: the timelock administers itself, so every role change goes through the delay too.
  const timelock = await new TimelockController__factory(deployer).deploy(
    options.minDelaySeconds,
    options.proposers,
    options.executors,
    ethers.ZeroAddress,
  );
  await timelock.waitForDeployment();
  return timelock.getAddress();
}

function validateParams(p: TriadParams): void {
  const rules: Array<[keyof TriadParams, boolean, string]> = [
    ["stakeAmount", p.stakeAmount > 0n, "must be > 0"],
    ["slashBps", Number.isInteger(p.slashBps) && p.slashBps >= 1 && p.slashBps <= 10_000, "must be an integer in 1..10000"],
    ["minFee", p.minFee >= 0n, "must be >= 0"],
    ["queueWindow", Number.isInteger(p.queueWindow) && p.queueWindow > 0, "must be a positive integer (seconds)"],
    ["commitWindow", Number.isInteger(p.commitWindow) && p.commitWindow > 0, "must be a positive integer (seconds)"],
    ["revealWindow", Number.isInteger(p.revealWindow) && p.revealWindow > 0, "must be a positive integer (seconds)"],
    ["nodeShareBps", Number.isInteger(p.nodeShareBps) && p.nodeShareBps >= 0 && p.nodeShareBps <= 10_000, "must be an integer in 0..10000"],
    [
      "maxQueueLength",
      Number.isInteger(p.maxQueueLength) && p.maxQueueLength >= 1 && p.maxQueueLength <= 256,
      "must be an integer in 1..256",
    ],
    [
      "autoDispatchScan",
      Number.isInteger(p.autoDispatchScan) && p.autoDispatchScan >= 0 && p.autoDispatchScan <= 64,
      "must be an integer in 0..64",
    ],
    ["treasury", ethers.isAddress(p.treasury), "must be an address"],
    ["governor", ethers.isAddress(p.governor), "must be an address"],
  ];
  for (const [field, ok, rule] of rules) {
    if (!ok) throw new Error(`deployTriad: params.${field} ${rule} (got ${String(p[field])})`);
  }
}
