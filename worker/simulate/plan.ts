import type { WorkerGroupSpec } from "../devnet/worker-group.js";
import type { WorkerFaults } from "../node/config.js";

/** What an injected node fault does (each maps to worker fault switches, see worker/node/config.ts). */
export const FAULT_KINDS = {
  /** Commits and reveals a wrong result hash; two of them in one group agree with each other (colluders). */
  wrong: { wrongResult: true },
  /** Never commits. */
  silent: { skipCommit: true },
  /** Commits, never reveals. */
  withhold: { skipReveal: true },
  /** Exits right after committing; the simulator restarts it after `crashRestartMs` (it must recover and reveal). */
  crash: { exitAfterCommit: true },
  /** Runs every task `slowMs` late before committing. */
  slow: {},
} as const satisfies Record<string, WorkerFaults>;

export type FaultKind = keyof typeof FAULT_KINDS;

export interface SimulationPlan {
  groups: WorkerGroupSpec[];
  /** Fault of each faulty node, by group index and index within the group. */
  faults: Array<{ group: number; index: number; kind: FaultKind }>;
  /** Tasks to submit in all, and how many are in flight at once. */
  tasks: number;
  concurrency: number;
  /** Relay outages: stop the relay `atMs` after the first submission for `durationMs`. */
  relayOutages: Array<{ atMs: number; durationMs: number }>;
  slowMs: number;
  crashRestartMs: number;
}

export interface PlanOptions {
  /** Nodes per group; at least 3. */
  nodesPerGroup: number;
  groups: number;
  /** How many nodes of each fault kind; colluders are placed two per group. */
  faultCounts: Partial<Record<FaultKind | "colluders", number>>;
  tasks: number;
  concurrency: number;
  relayOutages?: Array<{ atMs: number; durationMs: number }>;
  slowMs?: number;
  crashRestartMs?: number;
}

/** Card models of the simulated groups, each with its own VRAM so tasks can be steered to a group when wanted. */
const CARDS = ["NVIDIA H100 80GB HBM3", "NVIDIA GeForce RTX 4090", "NVIDIA A100-SXM4-80GB", "NVIDIA L40S", "NVIDIA H200"];

export class PlanError extends Error {}

/**
 * Places the faults deterministically: colluders two at a time into one group (so they can outvote the honest
 * third when drawn together), then every other fault round-robin over the groups, filling each group from its
 * first free seat. Refuses a plan with more faults than seats.
 */
export function makePlan(options: PlanOptions): SimulationPlan {
  if (!Number.isInteger(options.groups) || options.groups < 1 || options.groups > CARDS.length) {
    throw new PlanError(`groups must be an integer from 1 to ${CARDS.length} (got ${options.groups})`);
  }
  if (!Number.isInteger(options.nodesPerGroup) || options.nodesPerGroup < 3 || options.nodesPerGroup > 8) {
    throw new PlanError(`nodes per group must be an integer from 3 to 8 (got ${options.nodesPerGroup})`);
  }
  if (!Number.isInteger(options.tasks) || options.tasks < 1) throw new PlanError(`tasks must be a positive integer (got ${options.tasks})`);
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new PlanError(`concurrency must be a positive integer (got ${options.concurrency})`);
  }
  const nextSeat = Array.from({ length: options.groups }, () => 0);
  const faults: SimulationPlan["faults"] = [];
  const seat = (group: number, kind: FaultKind) => {
    if (nextSeat[group]! >= options.nodesPerGroup) throw new PlanError(`more faulty nodes than the ${options.groups} groups have seats`);
    faults.push({ group, index: nextSeat[group]!++, kind });
  };
  const colluders = options.faultCounts.colluders ?? 0;
  if (colluders % 2 !== 0) throw new PlanError(`colluders come in pairs (got ${colluders})`);
  for (let pair = 0; pair < colluders / 2; pair++) {
    const group = pair % options.groups;
    seat(group, "wrong");
    seat(group, "wrong");
  }
  let round = colluders / 2;
  for (const kind of Object.keys(FAULT_KINDS) as FaultKind[]) {
    const count = options.faultCounts[kind] ?? 0;
    if (!Number.isInteger(count) || count < 0) throw new PlanError(`the number of ${kind} nodes must be a non-negative integer`);
    for (let i = 0; i < count; i++) seat(round++ % options.groups, kind);
  }
  const slowMs = options.slowMs ?? 5_000;
  const groups = CARDS.slice(0, options.groups).map((cardModel, g) => ({
    cardModel,
    vramGb: 24 + 8 * g,
    count: options.nodesPerGroup,
    faults: Object.fromEntries(
      faults.filter((f) => f.group === g).map((f) => [f.index, f.kind === "slow" ? { delayMs: slowMs } : { ...FAULT_KINDS[f.kind] }]),
    ),
  }));
  return {
    groups,
    faults,
    tasks: options.tasks,
    concurrency: options.concurrency,
    relayOutages: options.relayOutages ?? [],
    slowMs,
    crashRestartMs: options.crashRestartMs ?? 3_000,
  };
}

/** "wrong=1,silent=1,colluders=2" -> counts; names the bad entry. */
export function parseFaultCounts(text: string): PlanOptions["faultCounts"] {
  const counts: PlanOptions["faultCounts"] = {};
  if (text.trim() === "") return counts;
  const kinds = [...Object.keys(FAULT_KINDS), "colluders"];
  for (const entry of text.split(",")) {
    const [kind, value] = entry.split("=").map((s) => s.trim());
    if (!kind || !kinds.includes(kind)) throw new PlanError(`--faults: unknown fault "${kind}" (one of ${kinds.join(", ")})`);
    if (!value || !/^[0-9]+$/.test(value)) throw new PlanError(`--faults: ${kind} needs a count, e.g. ${kind}=1`);
    counts[kind as FaultKind | "colluders"] = Number(value);
  }
  return counts;
}
