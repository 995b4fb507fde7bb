/** Shared set-up of the contract tests: a fresh in-process chain with Triad deployed through deployTriad. */
import { network } from "hardhat";
import { ethers as ethersLib } from "ethers";
import { deployTriad, type RandomnessChoice } from "../../deploy/triad.js";
import {
  BlockhashRandomness__factory,
  NodeRegistry__factory,
  TaskManager__factory,
  TriadToken__factory,
  VRFCoordinatorV2_5Mock__factory,
} from "../../typechain-types/index.js";
import { createdTaskId } from "../../worker/chain/contracts.js";
import type { TriadDeployment } from "../../worker/chain/deployment.js";
import { AbortReason, NodeStatus, TaskStatus } from "../../worker/chain/enums.js";

export const connection = await network.create();
export const { ethers, networkHelpers } = connection;

export const CARD_4090 = "NVIDIA GeForce RTX 4090";
export const CARD_H100 = "NVIDIA H100 80GB HBM3";
export const STAKE = ethersLib.parseEther("400");
export const FEE = ethersLib.parseEther("10");
export const MIN_FEE = ethersLib.parseEther("1");
export const QUEUE_WINDOW = 600;
export const COMMIT_WINDOW = 120;
export const REVEAL_WINDOW = 120;
export const NODE_SHARE_BPS = 9_500n;
export const MAX_QUEUE = 8;
/** The model every standard group enables (index 0 in the registry). */
export const MODEL_ID = "stories260K";
export const MODEL = 0n;
export const MODEL_DIGEST = ethersLib.id("stories260K manifest");
/** The fixture model's registered VRAM per variant (fp32, fp16, q8, q4, q4f16; 0 = not offered); auto = fp32. */
export const MODEL_VARIANT_VRAM: [number, number, number, number, number] = [1, 1, 1, 1, 0];
export const VARIANT = { fp32: 0, fp16: 1, q8: 2, q4: 3, q4f16: 4 } as const;

export { AbortReason, NodeStatus, TaskStatus };

let taskCounter = 0;

type Signer = ethersLib.Signer & { address: string };

/** Deploys Triad (block-hash randomness), funds the creator and the node accounts and approves the contracts. */
export function deployed() {
  return deployedWith("blockhash");
}

/** The same world with Chainlink VRF v2.5 randomness (the coordinator mock; tests fulfil requests themselves). */
export function deployedVrf() {
  return deployedWith("vrf-mock");
}

async function deployedWith(randomnessChoice: RandomnessChoice) {
  const [admin, creator, treasury, outsider, ...nodeSigners] = await ethers.getSigners();
  const deployment: TriadDeployment = await deployTriad(
    admin,
    {
      treasury: treasury.address,
      stakeAmount: STAKE,
      minFee: MIN_FEE,
      queueWindow: QUEUE_WINDOW,
      commitWindow: COMMIT_WINDOW,
      revealWindow: REVEAL_WINDOW,
      nodeShareBps: Number(NODE_SHARE_BPS),
      maxQueueLength: MAX_QUEUE,
      autoDispatchScan: 4,
    },
    randomnessChoice,
  );
  const token = TriadToken__factory.connect(deployment.token, admin);
  const registry = NodeRegistry__factory.connect(deployment.nodeRegistry, admin);
  const taskManager = TaskManager__factory.connect(deployment.taskManager, admin);
  const randomness = BlockhashRandomness__factory.connect(deployment.randomness, admin);

  const vrf = deployment.vrfCoordinator ? VRFCoordinatorV2_5Mock__factory.connect(deployment.vrfCoordinator, admin) : undefined;
  // Governance (the deployer here) creates the two standard card groups: 0 = RTX 4090 / 24 GB, 1 = H100 / 80 GB.
  await registry.addGroup(CARD_4090, 24);
  await registry.addGroup(CARD_H100, 80);
  // ... and registers one model, enabled on both (before any node joins: drawable at once).
  await registry.registerModel(MODEL_ID, "main", MODEL_DIGEST, MODEL_VARIANT_VRAM, VARIANT.fp32);
  await registry.enableModel(0, MODEL);
  await registry.enableModel(1, MODEL);

  await token.mint(creator.address, ethersLib.parseEther("100000"));
  await token.connect(creator).approve(deployment.taskManager, ethersLib.MaxUint256);
  for (const node of nodeSigners) await fundNode(node);

  async function fundNode(node: Signer) {
    await token.mint(node.address, STAKE * 2n);
    await token.connect(node).approve(deployment.nodeRegistry, ethersLib.MaxUint256);
  }

  /** Fresh funded node accounts beyond the node signers (for large groups). */
  async function extraNodes(count: number): Promise<Signer[]> {
    const wallets: Signer[] = [];
    for (let i = 0; i < count; i++) {
      const wallet = ethersLib.Wallet.createRandom().connect(ethers.provider) as unknown as Signer;
      await networkHelpers.setBalance(wallet.address, ethersLib.parseEther("10"));
      await fundNode(wallet);
      wallets.push(wallet);
    }
    return wallets;
  }

  /** The id of the group (card, VRAM), added through governance first if it does not exist yet. */
  async function groupOf(card: string, vramGb: number): Promise<bigint> {
    const count = await registry.groupCount();
    for (let id = 0n; id < count; id++) {
      const group = await registry.groupAt(id);
      if (group.cardModel === card && Number(group.vramGb) === vramGb) return id;
    }
    await (await registry.addGroup(card, vramGb)).wait();
    await (await registry.enableModel(count, MODEL)).wait();
    return count;
  }

  async function join(nodes: Signer[], card = CARD_4090, vramGb = 24) {
    const groupId = await groupOf(card, vramGb);
    for (const node of nodes) await registry.connect(node).join(groupId);
  }

  /** VRF worlds: fulfils every pending request with the mock's words (or `words`, one per request). */
  async function fulfil(words?: bigint[]) {
    if (!vrf) throw new Error("fulfil: this world uses block-hash randomness");
    const events = await vrf.queryFilter(vrf.filters.RandomWordsRequested());
    const fulfilled = new Set((await vrf.queryFilter(vrf.filters.RandomWordsFulfilled())).map((e) => e.args.requestId));
    const pending = events.map((e) => e.args.requestId).filter((id) => !fulfilled.has(id));
    const receipts = [];
    for (const [i, requestId] of pending.entries()) {
      const word = words?.[i];
      const tx =
        word === undefined
          ? await vrf.fulfillRandomWords(requestId, deployment.randomness)
          : await vrf.fulfillRandomWordsWithOverride(requestId, deployment.randomness, [word]);
      receipts.push(await tx.wait());
    }
    return receipts;
  }

  /** Creates a task as `creator` and returns its id. */
  async function create(minVramGb = 16, fee = FEE, argsHash = ethersLib.id(`task-${++taskCounter}`), model = MODEL): Promise<bigint> {
    const receipt = await (await taskManager.connect(creator).createTask(argsHash, model, minVramGb, fee)).wait();
    return createdTaskId(taskManager, receipt!);
  }

  /** Mines the randomness block and dispatches the queue (VRF worlds: fulfils the pending requests). */
  async function mineAndDispatch(maxTasks = 16) {
    if (vrf) {
      await taskManager.dispatch(maxTasks);
      await fulfil();
      return;
    }
    await networkHelpers.mine(1);
    await taskManager.dispatch(maxTasks);
  }

  /** Creates a task and starts it; returns the id and its three nodes as signers. */
  async function started(minVramGb = 16) {
    const taskId = await create(minVramGb);
    await mineAndDispatch();
    const task = await taskManager.getTask(taskId);
    if (task.status !== TaskStatus.Committing) throw new Error(`task ${taskId} did not start (status ${task.status})`);
    return { taskId, nodes: task.nodes.map(signerOf) };
  }

  const everyone = new Map<string, Signer>();
  for (const s of [admin, creator, treasury, outsider, ...nodeSigners]) everyone.set(s.address.toLowerCase(), s);
  function signerOf(address: string): Signer {
    const signer = everyone.get(address.toLowerCase()) ?? extraSigners.get(address.toLowerCase());
    if (!signer) throw new Error(`no signer for ${address}`);
    return signer;
  }
  const extraSigners = new Map<string, Signer>();
  async function extraNodesTracked(count: number) {
    const wallets = await extraNodes(count);
    for (const w of wallets) extraSigners.set(w.address.toLowerCase(), w);
    return wallets;
  }

  /** Salt and commitment of `node` for `resultHash`. */
  async function sealFor(taskId: bigint, node: Signer, resultHash: string) {
    const salt = ethersLib.hexlify(ethersLib.randomBytes(32));
    const commitment = await taskManager.commitmentOf(taskId, node.address, resultHash, salt);
    return { salt, commitment };
  }

  /** Commits then reveals `results[i]` for `nodes[i]`; `undefined` skips the node. */
  async function commitAll(taskId: bigint, nodes: Signer[], results: (string | undefined)[]) {
    const seals: ({ salt: string; commitment: string } | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const result = results[i];
      if (result === undefined) {
        seals.push(undefined);
        continue;
      }
      const seal = await sealFor(taskId, nodes[i], result);
      await taskManager.connect(nodes[i]).commit(taskId, seal.commitment);
      seals.push(seal);
    }
    return seals;
  }

  async function revealAll(taskId: bigint, nodes: Signer[], results: (string | undefined)[], seals: ({ salt: string } | undefined)[]) {
    for (let i = 0; i < 3; i++) {
      const result = results[i];
      const seal = seals[i];
      if (result === undefined || seal === undefined) continue;
      await taskManager.connect(nodes[i]).reveal(taskId, result, seal.salt);
    }
  }

  /** Sum of every account's balance plus registry and task manager holdings, for conservation checks. */
  async function tokenHoldings() {
    return {
      registry: await token.balanceOf(deployment.nodeRegistry),
      taskManager: await token.balanceOf(deployment.taskManager),
      totalStaked: await registry.totalStaked(),
      totalEscrow: await taskManager.totalEscrow(),
    };
  }

  return {
    connectionEthers: ethers,
    deployment,
    token,
    registry,
    taskManager,
    randomness,
    vrf,
    fulfil,
    groupOf,
    admin,
    creator,
    treasury,
    outsider,
    nodeSigners,
    join,
    create,
    mineAndDispatch,
    started,
    signerOf,
    extraNodes: extraNodesTracked,
    sealFor,
    commitAll,
    revealAll,
    tokenHoldings,
  };
}

export type World = Awaited<ReturnType<typeof deployedWith>>;

/** Loads the deployed world from a snapshot (fast reset between tests). */
export function world(): Promise<World> {
  return networkHelpers.loadFixture(deployed);
}

/** The VRF world from a snapshot. */
export function vrfWorld(): Promise<World> {
  return networkHelpers.loadFixture(deployedVrf);
}

export const RESULT_A = ethersLib.id("result A");
export const RESULT_B = ethersLib.id("result B");
export const RESULT_C = ethersLib.id("result C");
