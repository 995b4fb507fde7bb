/**
 * Gas of one full task lifecycle, node join/quit, and createTask/dispatch with 3 vs 30 free nodes.
 * Run: npx hardhat run scripts/gas-report.ts
 */
import { network } from "hardhat";
import { ethers as ethersLib } from "ethers";
import { deployTriad } from "../deploy/triad.js";
import { NodeRegistry__factory } from "../typechain-types/factories/NodeRegistry__factory.js";
import { TaskManager__factory } from "../typechain-types/factories/TaskManager__factory.js";
import { TriadToken__factory } from "../typechain-types/factories/TriadToken__factory.js";

const { ethers, networkHelpers } = await network.create();
const CARD = "NVIDIA GeForce RTX 4090";
const RESULT = ethersLib.id("result");

async function gasOf(tx: Promise<ethersLib.ContractTransactionResponse>): Promise<bigint> {
  return (await (await tx).wait())!.gasUsed;
}

async function measure(freeNodes: number) {
  const [admin, creator] = await ethers.getSigners();
  const d = await deployTriad(admin, {});
  const token = TriadToken__factory.connect(d.token, admin);
  const registry = NodeRegistry__factory.connect(d.nodeRegistry, admin);
  const tm = TaskManager__factory.connect(d.taskManager, admin);
  await token.mint(creator.address, ethersLib.parseEther("1000"));
  await token.connect(creator).approve(d.taskManager, ethersLib.MaxUint256);
  const nodes: ethersLib.Signer[] = [];
  const joinGas: bigint[] = [];
  for (let i = 0; i < freeNodes + 1; i++) {
    const wallet = ethersLib.Wallet.createRandom().connect(ethers.provider);
    await networkHelpers.setBalance(wallet.address, ethersLib.parseEther("10"));
    await token.mint(wallet.address, d.params.stakeAmount);
    await token.connect(wallet).approve(d.nodeRegistry, ethersLib.MaxUint256);
    joinGas.push(await gasOf(registry.connect(wallet).join(CARD, 24)));
    nodes.push(wallet);
  }
  const quitGas = await gasOf(registry.connect(nodes[freeNodes]).quit());

  const create = await gasOf(tm.connect(creator).createTask(ethersLib.id("args"), 16, ethersLib.parseEther("10")));
  await networkHelpers.mine(1);
  const dispatch = await gasOf(tm.dispatch(1));
  const task = await tm.getTask(1n);
  const byAddress = new Map(await Promise.all(nodes.map(async (n) => [await n.getAddress(), n] as const)));
  const selected = task.nodes.map((a) => byAddress.get(a)!);
  const salts = selected.map(() => ethersLib.hexlify(ethersLib.randomBytes(32)));
  const commits: bigint[] = [];
  for (let k = 0; k < 3; k++) {
    const c = await tm.commitmentOf(1n, task.nodes[k], RESULT, salts[k]);
    commits.push(await gasOf(tm.connect(selected[k]).commit(1n, c)));
  }
  const reveals: bigint[] = [];
  for (let k = 0; k < 3; k++) reveals.push(await gasOf(tm.connect(selected[k]).reveal(1n, RESULT, salts[k])));
  if ((await tm.getTask(1n)).status !== 4n) throw new Error("task did not succeed");
  return { joinFirst: joinGas[0], joinLast: joinGas[joinGas.length - 1], quitGas, create, dispatch, commits, reveals };
}

const small = await measure(3);
const large = await measure(30);
const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
const total = small.create + small.dispatch + sum(small.commits) + sum(small.reveals);
console.log("Triad gas report (solc 0.8.37, optimizer 200 runs, evm osaka; gasUsed incl. 21k base per tx)");
console.log(`join (first node, new group)   ${small.joinFirst}`);
console.log(`join (existing group)          ${small.joinLast}`);
console.log(`quit (idle node)               ${small.quitGas}`);
console.log(`createTask, 3 free nodes       ${small.create}`);
console.log(`createTask, 30 free nodes      ${large.create}`);
console.log(`dispatch, 3 free nodes         ${small.dispatch}`);
console.log(`dispatch, 30 free nodes        ${large.dispatch}`);
console.log(`commit x3                      ${small.commits.join(" / ")}`);
console.log(`reveal x3 (last one settles)   ${small.reveals.join(" / ")}`);
console.log(`whole task (create+dispatch+3 commits+3 reveals) ${total}`);
console.log(`whole task with 30 free nodes  ${large.create + large.dispatch + sum(large.commits) + sum(large.reveals)}`);
