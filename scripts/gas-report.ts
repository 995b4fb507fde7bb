/**
 * Gas of one full task lifecycle, node join/quit, and createTask/dispatch with 3 vs 30 free nodes.
 * Run: npx hardhat run scripts/gas-report.ts
 *
 * Which nodes are drawn, and in which order they return to their group's set, changes what a task costs by
 * several thousand gas (a position rewritten with the address it already held costs 100 gas, another 2.9k).
 * Node keys and salts are therefore fixed, and the steady state is the mean of STEADY_TASKS consecutive tasks,
 * so that two builds compare their code rather than their luck (the seeds still come from block hashes).
 */
import { network } from "hardhat";
import { ethers as ethersLib } from "ethers";
import { deployTriad, type RandomnessChoice } from "../deploy/triad.js";
import { VRFCoordinatorV2_5Mock__factory } from "../typechain-types/index.js";
import { connectContracts } from "../worker/chain/contracts.js";
import { TaskStatus } from "../worker/chain/enums.js";

const { ethers, networkHelpers } = await network.create();
const CARD = "NVIDIA GeForce RTX 4090";
const RESULT = ethersLib.id("result");
const STEADY_TASKS = 16;

async function gasOf(tx: Promise<ethersLib.ContractTransactionResponse>): Promise<bigint> {
  return (await (await tx).wait())!.gasUsed;
}

async function measure(freeNodes: number, randomness: RandomnessChoice = "blockhash") {
  const [admin, creator] = await ethers.getSigners();
  const d = await deployTriad(admin, {}, randomness);
  const vrf = d.vrfCoordinator ? VRFCoordinatorV2_5Mock__factory.connect(d.vrfCoordinator, admin) : undefined;
  const { token, registry, taskManager: tm } = connectContracts(d, admin);
  const addGroupGas = await gasOf(registry.addGroup(CARD, 24));
  const registerModelGas = await gasOf(registry.registerModel("stories260K", "main", ethersLib.id("manifest"), [1, 1, 1, 1, 0], 0));
  const enableModelGas = await gasOf(registry.enableModel(0, 0));
  await token.mint(creator.address, ethersLib.parseEther("1000"));
  await token.connect(creator).approve(d.taskManager, ethersLib.MaxUint256);
  const nodes: ethersLib.Signer[] = [];
  const joinGas: bigint[] = [];
  for (let i = 0; i < freeNodes + 1; i++) {
    const wallet = new ethersLib.Wallet(ethersLib.id(`gas report ${randomness} ${freeNodes} node ${i}`), ethers.provider);
    await networkHelpers.setBalance(wallet.address, ethersLib.parseEther("10"));
    await token.mint(wallet.address, d.params.stakeAmount);
    await token.connect(wallet).approve(d.nodeRegistry, ethersLib.MaxUint256);
    joinGas.push(await gasOf(registry.connect(wallet).join(0)));
    nodes.push(wallet);
  }
  const quitGas = await gasOf(registry.connect(nodes[freeNodes]).quit());

  const first = await lifecycle(1n);
  // Steady state of a running network: every node has served a task before, so its token balance and its
  // submission slot in the task manager are no longer zero (the first task created them). Warm-up tasks run
  // until every free node was drawn at least once; the mean of the STEADY_TASKS tasks after them is reported.
  const served = new Set(first.nodes);
  let taskId = 2n;
  for (; served.size < freeNodes; taskId++) for (const node of (await lifecycle(taskId)).nodes) served.add(node);
  const steady: Lifecycle[] = [];
  for (let i = 0; i < STEADY_TASKS; i++, taskId++) steady.push(await lifecycle(taskId));
  const mean = (pick: (l: Lifecycle) => bigint) =>
    (steady.reduce((sum, l) => sum + pick(l), 0n) + BigInt(STEADY_TASKS / 2)) / BigInt(STEADY_TASKS);
  const seats = [0, 1, 2];
  const second: Lifecycle = {
    create: mean((l) => l.create),
    dispatch: mean((l) => l.dispatch),
    commits: seats.map((k) => mean((l) => l.commits[k]!)),
    reveals: seats.map((k) => mean((l) => l.reveals[k]!)),
    total: mean((l) => l.total),
    nodes: [],
  };
  const joinFirst = joinGas[0];
  const joinLast = joinGas[joinGas.length - 1];
  return { addGroupGas, registerModelGas, enableModelGas, joinFirst, joinLast, quitGas, first, second };

  async function lifecycle(taskId: bigint) {
    const create = await gasOf(tm.connect(creator).createTask(ethersLib.id(`args ${taskId}`), 0, 16, ethersLib.parseEther("10")));
    let dispatch: bigint;
    if (vrf) {
      // The draw happens in the coordinator's fulfilment (a Chainlink node sends it; billed to the subscription).
      const [request] = (await vrf.queryFilter(vrf.filters.RandomWordsRequested())).slice(-1);
      dispatch = await gasOf(vrf.fulfillRandomWords(request!.args.requestId, d.randomness));
    } else {
      await networkHelpers.mine(1);
      dispatch = await gasOf(tm.dispatch(1));
    }
    const task = await tm.getTask(taskId);
    const byAddress = new Map(await Promise.all(nodes.map(async (n) => [await n.getAddress(), n] as const)));
    const selected = task.nodes.map((a) => byAddress.get(a)!);
    const salts = selected.map((_, k) => ethersLib.id(`salt ${taskId} ${k}`));
    const commits: bigint[] = [];
    for (let k = 0; k < 3; k++) {
      const c = await tm.commitmentOf(taskId, task.nodes[k], RESULT, salts[k]);
      commits.push(await gasOf(tm.connect(selected[k]).commit(taskId, c)));
    }
    const reveals: bigint[] = [];
    for (let k = 0; k < 3; k++) reveals.push(await gasOf(tm.connect(selected[k]).reveal(taskId, RESULT, salts[k])));
    if ((await tm.getTask(taskId)).status !== TaskStatus.Succeeded) throw new Error(`task ${taskId} did not succeed`);
    const total = create + dispatch + commits.reduce((a, b) => a + b, 0n) + reveals.reduce((a, b) => a + b, 0n);
    return { create, dispatch, commits, reveals, total, nodes: [...task.nodes] };
  }
}

interface Lifecycle {
  create: bigint;
  dispatch: bigint;
  commits: bigint[];
  reveals: bigint[];
  total: bigint;
  nodes: string[];
}

const small = await measure(3);
const large = await measure(30);
const vrf = await measure(3, "vrf-mock");
console.log("Triad gas report (solc 0.8.37, optimizer 200 runs, evm osaka; gasUsed incl. 21k base per tx)");
console.log("Block-hash randomness unless marked VRF");
console.log(`addGroup (governance)          ${small.addGroupGas}`);
console.log(`registerModel / enableModel    ${small.registerModelGas} / ${small.enableModelGas}`);
console.log(`join (first node of a group)   ${small.joinFirst}`);
console.log(`join (existing group)          ${small.joinLast}`);
console.log(`quit (idle node)               ${small.quitGas}`);
for (const [label, key] of [
  ["first task (fresh node balances)", "first"],
  [`next tasks (steady state: every node served before; mean of ${STEADY_TASKS} tasks)`, "second"],
] as const) {
  console.log(`-- ${label}`);
  console.log(`createTask, 3 / 30 free nodes  ${small[key].create} / ${large[key].create}`);
  console.log(`dispatch, 3 / 30 free nodes    ${small[key].dispatch} / ${large[key].dispatch}`);
  console.log(`commit x3                      ${small[key].commits.join(" / ")}`);
  console.log(`reveal x3 (last one settles)   ${small[key].reveals.join(" / ")}`);
  console.log(`whole task, 3 / 30 free nodes  ${small[key].total} / ${large[key].total}`);
}
console.log(`-- VRF v2.5 randomness (coordinator mock), 3 free nodes, steady state (mean of ${STEADY_TASKS} tasks)`);
console.log(`createTask (requests the word) ${vrf.second.create}`);
console.log(`fulfilment (mock coordinator + draw + start, replaces dispatch) ${vrf.second.dispatch}`);
console.log(`whole task                     ${vrf.second.total}`);
console.log(`VRF extra per task vs block hash ${vrf.second.total - small.second.total} (plus the VRF fee in LINK or native)`);
