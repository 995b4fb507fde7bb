import type { JsonRpcProvider, Log } from "ethers";
import type { NodeRegistry, TaskManager } from "../../typechain-types/index.js";
import { abortReasonName, nodeStatusName } from "../chain/enums.js";
import { applyEvent, emptyState, throughputPerMinute, type ExplorerEvent, type ExplorerState, type TimedEvent } from "./model.js";

/** Blocks below the head that may still be reorganised: folded anew on every snapshot, never into the kept state. */
const REORG_DEPTH = 12;
/** Most recent tasks a snapshot lists (all of them still count in the node and group figures). */
const TASKS_SHOWN = 100;

export interface ExplorerSource {
  provider: JsonRpcProvider;
  registry: NodeRegistry;
  taskManager: TaskManager;
  /** The deployment block: nothing before it concerns this network. */
  fromBlock: number;
}

export interface NetworkSnapshot {
  head: { number: number; time: number };
  groups: Array<{ groupId: string; cardModel: string; vramGb: number; nodes: number }>;
  nodes: ExplorerState["nodes"] extends Map<string, infer N> ? N[] : never;
  tasks: ExplorerState["tasks"] extends Map<string, infer T> ? T[] : never;
  latency: Array<{ taskId: string; ended: number; seconds: number; status: string }>;
  throughput: ReturnType<typeof throughputPerMinute>;
}

/**
 * Folds the contracts' events into the explorer's state as blocks arrive. Blocks deeper than REORG_DEPTH are
 * folded once into the kept state; the tail above them is folded into a copy for each snapshot, so a
 * reorganised tip never leaves a stale event behind.
 */
export class NetworkIndexer {
  #settled: ExplorerState = emptyState();
  #settledTo: number;
  #blockTimes = new Map<number, number>();

  constructor(private readonly source: ExplorerSource) {
    this.#settledTo = source.fromBlock - 1;
  }

  async snapshot(): Promise<NetworkSnapshot> {
    const head = await this.source.provider.getBlock("latest");
    if (!head) throw new Error("the chain returned no latest block");
    const settleTo = Math.max(this.#settledTo, head.number - REORG_DEPTH);
    if (settleTo > this.#settledTo) {
      for (const event of await this.#events(this.#settledTo + 1, settleTo)) applyEvent(this.#settled, event);
      this.#settledTo = settleTo;
    }
    const state = structuredClone(this.#settled);
    for (const event of await this.#events(settleTo + 1, head.number)) applyEvent(state, event);
    await this.#refreshNodes(state);
    return toSnapshot(state, { number: head.number, time: head.timestamp });
  }

  async #events(from: number, to: number): Promise<TimedEvent[]> {
    if (from > to) return [];
    const { registry, taskManager } = this.source;
    const address = [await registry.getAddress(), await taskManager.getAddress()];
    const logs = await this.source.provider.getLogs({ address, fromBlock: from, toBlock: to });
    logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    const events: TimedEvent[] = [];
    for (const log of logs) {
      const event = this.#decode(log);
      if (event) events.push({ event, time: await this.#blockTime(log.blockNumber) });
    }
    return events;
  }

  #decode(log: Log): ExplorerEvent | undefined {
    const { registry, taskManager } = this.source;
    const parsed = registry.interface.parseLog(log) ?? taskManager.interface.parseLog(log);
    if (!parsed) return undefined;
    const a = parsed.args;
    const id = (v: bigint) => v.toString();
    switch (parsed.name) {
      case "GroupAdded":
        return { kind: "GroupAdded", groupId: String(a.groupId), cardModel: a.cardModel, vramGb: Number(a.vramGb) };
      case "NodeJoined":
        return { kind: "NodeJoined", node: a.node, groupId: String(a.groupId), cardModel: a.cardModel, vramGb: Number(a.vramGb) };
      case "NodeSlashed":
        return { kind: "NodeSlashed", node: a.node, taskId: id(a.taskId), amount: a.amount };
      case "TaskCreated":
        return { kind: "TaskCreated", taskId: id(a.taskId), creator: a.creator, fee: a.fee };
      case "TaskStarted":
        return {
          kind: "TaskStarted",
          taskId: id(a.taskId),
          groupId: String(a.groupId),
          nodes: [...a.nodes],
          commitDeadline: Number(a.commitDeadline),
        };
      case "TaskCommitted":
        return { kind: "TaskCommitted", taskId: id(a.taskId), node: a.node };
      case "TaskRevealOpened":
        return { kind: "TaskRevealOpened", taskId: id(a.taskId), revealDeadline: Number(a.revealDeadline) };
      case "TaskRevealed":
        return { kind: "TaskRevealed", taskId: id(a.taskId), node: a.node, resultHash: a.resultHash };
      case "TaskSucceeded":
        return { kind: "TaskSucceeded", taskId: id(a.taskId), resultHash: a.resultHash };
      case "TaskAborted":
        return { kind: "TaskAborted", taskId: id(a.taskId), reason: abortReasonName(a.reason) };
      default:
        return undefined;
    }
  }

  async #blockTime(blockNumber: number): Promise<number> {
    let time = this.#blockTimes.get(blockNumber);
    if (time === undefined) {
      const block = await this.source.provider.getBlock(blockNumber);
      time = block?.timestamp ?? 0;
      this.#blockTimes.set(blockNumber, time);
    }
    return time;
  }

  /** Stake and status come from the registry itself, read at the snapshot's block. */
  async #refreshNodes(state: ExplorerState): Promise<void> {
    await Promise.all(
      [...state.nodes.values()].map(async (node) => {
        const info = await this.source.registry.getNode(node.address);
        node.stake = info.stake.toString();
        node.status = nodeStatusName(info.status);
      }),
    );
  }
}

function toSnapshot(state: ExplorerState, head: NetworkSnapshot["head"]): NetworkSnapshot {
  const tasks = [...state.tasks.values()].sort((a, b) => Number(BigInt(b.taskId) - BigInt(a.taskId)));
  const latency = tasks
    .filter((t) => t.timeline.ended !== undefined)
    .map((t) => ({ taskId: t.taskId, ended: t.timeline.ended!, seconds: t.timeline.ended! - t.timeline.created, status: t.status }))
    .reverse();
  return {
    head,
    groups: [...state.groups.values()].map((g) => ({
      groupId: g.groupId,
      cardModel: g.cardModel,
      vramGb: g.vramGb,
      nodes: g.nodes.length,
    })),
    nodes: [...state.nodes.values()],
    tasks: tasks.slice(0, TASKS_SHOWN),
    latency,
    throughput: throughputPerMinute(tasks),
  };
}
