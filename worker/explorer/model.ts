/**
 * The explorer's view of the network, folded from the contracts' events (pure: no chain access here, so the
 * folding is tested on its own). Field names are what the page shows; amounts are decimal strings of token wei.
 */
export type ExplorerEvent =
  | { kind: "GroupAdded"; groupId: string; cardModel: string; vramGb: number }
  | { kind: "NodeJoined"; node: string; groupId: string; cardModel: string; vramGb: number }
  | { kind: "NodeSlashed"; node: string; taskId: string; amount: bigint }
  | { kind: "TaskCreated"; taskId: string; creator: string; fee: bigint }
  | { kind: "TaskStarted"; taskId: string; groupId: string; nodes: string[]; commitDeadline: number }
  | { kind: "TaskCommitted"; taskId: string; node: string }
  | { kind: "TaskRevealOpened"; taskId: string; revealDeadline: number }
  | { kind: "TaskRevealed"; taskId: string; node: string; resultHash: string }
  | { kind: "TaskSucceeded"; taskId: string; resultHash: string }
  | { kind: "TaskAborted"; taskId: string; reason: string };

/** One event with the time of its block (unix seconds). */
export interface TimedEvent {
  event: ExplorerEvent;
  time: number;
}

export interface ExplorerGroup {
  groupId: string;
  cardModel: string;
  vramGb: number;
  nodes: string[];
}

export interface ExplorerNode {
  address: string;
  groupId: string;
  /** Filled from the registry when the snapshot is taken. */
  stake: string;
  status: string;
  tasks: number;
  slashes: number;
  slashedAmount: string;
}

export interface ExplorerTask {
  taskId: string;
  creator: string;
  fee: string;
  groupId?: string;
  nodes: string[];
  status: "queued" | "committing" | "revealing" | "succeeded" | "aborted";
  abortReason?: string;
  resultHash?: string;
  /** Unix seconds of each step; commits and reveals per node. */
  timeline: {
    created: number;
    started?: number;
    commits: Record<string, number>;
    revealOpened?: number;
    reveals: Record<string, number>;
    ended?: number;
  };
  commitDeadline?: number;
  revealDeadline?: number;
  slashed: string[];
}

export interface ExplorerState {
  groups: Map<string, ExplorerGroup>;
  nodes: Map<string, ExplorerNode>;
  tasks: Map<string, ExplorerTask>;
}

export function emptyState(): ExplorerState {
  return { groups: new Map(), nodes: new Map(), tasks: new Map() };
}

/** Applies one event; events must come in chain order. Unknown tasks or nodes (before the indexed range) are skipped. */
export function applyEvent(state: ExplorerState, { event, time }: TimedEvent): void {
  switch (event.kind) {
    case "GroupAdded":
      if (!state.groups.has(event.groupId)) state.groups.set(event.groupId, { ...pick(event), nodes: [] });
      return;
    case "NodeJoined": {
      const group = state.groups.get(event.groupId) ?? { ...pick(event), nodes: [] };
      state.groups.set(event.groupId, group);
      if (!group.nodes.includes(event.node)) group.nodes.push(event.node);
      const known = state.nodes.get(event.node);
      state.nodes.set(event.node, {
        address: event.node,
        groupId: event.groupId,
        stake: known?.stake ?? "0",
        status: known?.status ?? "Available",
        tasks: known?.tasks ?? 0,
        slashes: known?.slashes ?? 0,
        slashedAmount: known?.slashedAmount ?? "0",
      });
      return;
    }
    case "NodeSlashed": {
      const node = state.nodes.get(event.node);
      if (node) {
        node.slashes++;
        node.slashedAmount = (BigInt(node.slashedAmount) + event.amount).toString();
      }
      state.tasks.get(event.taskId)?.slashed.push(event.node);
      return;
    }
    case "TaskCreated":
      state.tasks.set(event.taskId, {
        taskId: event.taskId,
        creator: event.creator,
        fee: event.fee.toString(),
        nodes: [],
        status: "queued",
        timeline: { created: time, commits: {}, reveals: {} },
        slashed: [],
      });
      return;
  }
  const task = state.tasks.get(event.taskId);
  if (!task) return;
  switch (event.kind) {
    case "TaskStarted":
      Object.assign(task, { groupId: event.groupId, nodes: event.nodes, status: "committing", commitDeadline: event.commitDeadline });
      task.timeline.started = time;
      for (const address of event.nodes) {
        const node = state.nodes.get(address);
        if (node) node.tasks++;
      }
      return;
    case "TaskCommitted":
      task.timeline.commits[event.node] = time;
      return;
    case "TaskRevealOpened":
      Object.assign(task, { status: "revealing", revealDeadline: event.revealDeadline });
      task.timeline.revealOpened = time;
      return;
    case "TaskRevealed":
      task.timeline.reveals[event.node] = time;
      return;
    case "TaskSucceeded":
      Object.assign(task, { status: "succeeded", resultHash: event.resultHash });
      task.timeline.ended = time;
      return;
    case "TaskAborted":
      Object.assign(task, { status: "aborted", abortReason: event.reason });
      task.timeline.ended = time;
      return;
  }
}

function pick(event: { groupId: string; cardModel: string; vramGb: number }) {
  return { groupId: event.groupId, cardModel: event.cardModel, vramGb: event.vramGb };
}

export interface ThroughputBucket {
  /** Unix seconds at the start of the minute. */
  minute: number;
  succeeded: number;
  aborted: number;
}

/** Tasks ended per minute, oldest first, with empty minutes filled in. */
export function throughputPerMinute(tasks: ExplorerTask[]): ThroughputBucket[] {
  const ended = tasks.filter((t) => t.timeline.ended !== undefined);
  if (ended.length === 0) return [];
  const minuteOf = (t: ExplorerTask) => Math.floor(t.timeline.ended! / 60) * 60;
  const first = Math.min(...ended.map(minuteOf));
  const last = Math.max(...ended.map(minuteOf));
  const buckets = new Map<number, ThroughputBucket>();
  for (let minute = first; minute <= last; minute += 60) buckets.set(minute, { minute, succeeded: 0, aborted: 0 });
  for (const task of ended) buckets.get(minuteOf(task))![task.status === "succeeded" ? "succeeded" : "aborted"]++;
  return [...buckets.values()];
}
