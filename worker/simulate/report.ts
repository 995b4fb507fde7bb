/** One submitted task as the simulator saw it. */
export interface TaskObservation {
  taskId: bigint;
  outcome: "succeeded" | "aborted" | "unfinished";
  /** Abort reason name, when aborted. */
  reason?: string;
  nodes: string[];
  /** Milliseconds from the submit call to the verified result (or the abort). */
  latencyMs?: number;
  /** Why the client got no verified answer for a task that was paid for. */
  answerLost?: string;
  /** For a succeeded task: the nodes whose reveal is the agreed result. */
  winners?: string[];
}

export interface SlashObservation {
  node: string;
  taskId: bigint;
}

export interface SimulationFacts {
  tasks: TaskObservation[];
  slashes: SlashObservation[];
  /** Addresses (lower case) of the nodes the plan made faulty. */
  faultyNodes: Set<string>;
  /** Submissions that threw before a task id existed (nothing was paid). */
  submitFailures: string[];
  gasUsed: bigint;
  tokens: { supplyBefore: bigint; supplyAfter: bigint; sumOfBalances: bigint; escrowAfter: bigint };
}

export interface SimulationReport {
  tasks: {
    submitted: number;
    succeeded: number;
    /** Succeeded with a result only faulty nodes revealed (two colluders drawn together). */
    wonByFaultyMajority: number;
    answersLost: number;
    aborted: number;
    unfinished: number;
    submitFailures: number;
  };
  abortReasons: Record<string, number>;
  slashes: {
    faulty: number;
    /** Honest nodes slashed in a task with at most one faulty node: the protocol promises 0. */
    honestWithHonestMajority: number;
    /** Honest nodes slashed because two faulty nodes of one task agreed (collusion: residual risk). */
    honestByFaultyMajority: number;
  };
  latencyMs: { p50: number | null; p95: number | null; max: number | null };
  gasPerTask: number | null;
  tokensConserved: boolean;
  escrowAfter: string;
  /** Broken promises, in words; empty when the run upheld every one. */
  violations: string[];
}

/** The nearest-rank percentile (p in 0..100) of the values, or null when there are none. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function buildReport(facts: SimulationFacts): SimulationReport {
  const byId = new Map(facts.tasks.map((t) => [t.taskId, t]));
  const faulty = (node: string) => facts.faultyNodes.has(node.toLowerCase());
  const slashes = { faulty: 0, honestWithHonestMajority: 0, honestByFaultyMajority: 0 };
  const violations: string[] = [];
  for (const slash of facts.slashes) {
    if (faulty(slash.node)) {
      slashes.faulty++;
      continue;
    }
    const task = byId.get(slash.taskId);
    const faultyInTask = task ? task.nodes.filter(faulty).length : 0;
    if (faultyInTask >= 2) {
      slashes.honestByFaultyMajority++;
    } else {
      slashes.honestWithHonestMajority++;
      violations.push(`honest node ${slash.node} slashed in task ${slash.taskId} with ${faultyInTask} faulty node(s) in it`);
    }
  }
  // Two colluders in one task agree on a hash of their choosing: the task "succeeds" with a result no honest node
  // computed (and usually no bytes exist for it). That is the residual risk docs/contracts.md quantifies, not a bug.
  const wonByFaulty = facts.tasks.filter((t) => t.outcome === "succeeded" && (t.winners?.length ?? 0) >= 2 && t.winners!.every(faulty));
  const lost = facts.tasks.filter((t) => t.outcome === "succeeded" && t.answerLost !== undefined && !wonByFaulty.includes(t));
  for (const task of lost) violations.push(`task ${task.taskId} succeeded on chain but its answer was not retrievable: ${task.answerLost}`);
  const count = (outcome: TaskObservation["outcome"]) => facts.tasks.filter((t) => t.outcome === outcome).length;
  const unfinished = count("unfinished");
  if (unfinished > 0) violations.push(`${unfinished} task(s) neither succeeded nor ended with a refund`);
  const abortReasons: Record<string, number> = {};
  for (const task of facts.tasks)
    if (task.outcome === "aborted") abortReasons[task.reason ?? "?"] = (abortReasons[task.reason ?? "?"] ?? 0) + 1;

  const { supplyBefore, supplyAfter, sumOfBalances, escrowAfter } = facts.tokens;
  const tokensConserved = supplyBefore === supplyAfter && sumOfBalances === supplyAfter;
  if (!tokensConserved) violations.push(`tokens not conserved: supply ${supplyBefore} -> ${supplyAfter}, balances sum to ${sumOfBalances}`);
  if (unfinished === 0 && escrowAfter !== 0n) violations.push(`${escrowAfter} token wei still escrowed after every task ended`);

  const latencies = facts.tasks.flatMap((t) => (t.latencyMs === undefined ? [] : [t.latencyMs]));
  const ended = facts.tasks.length - unfinished;
  return {
    tasks: {
      submitted: facts.tasks.length,
      succeeded: count("succeeded"),
      wonByFaultyMajority: wonByFaulty.length,
      answersLost: lost.length,
      aborted: count("aborted"),
      unfinished,
      submitFailures: facts.submitFailures.length,
    },
    abortReasons,
    slashes,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies.length ? Math.max(...latencies) : null },
    gasPerTask: ended > 0 ? Number(facts.gasUsed / BigInt(ended)) : null,
    tokensConserved,
    escrowAfter: escrowAfter.toString(),
    violations,
  };
}

export function formatReport(report: SimulationReport): string {
  const ms = (v: number | null) => (v === null ? "-" : `${(v / 1000).toFixed(2)} s`);
  const t = report.tasks;
  return [
    `tasks: ${t.submitted} submitted, ${t.succeeded} succeeded (${t.wonByFaultyMajority} won by two colluders, ` +
      `${t.answersLost} answers lost), ` +
      `${t.aborted} refunded, ${t.unfinished} unfinished` +
      (t.submitFailures ? `; ${t.submitFailures} submissions failed before paying` : ""),
    `refund reasons: ${
      Object.entries(report.abortReasons)
        .map(([r, n]) => `${r} ${n}`)
        .join(", ") || "-"
    }`,
    `slashes: faulty ${report.slashes.faulty}, honest (at most one faulty node in the task) ${report.slashes.honestWithHonestMajority}, ` +
      `honest (outvoted by two faulty colluders) ${report.slashes.honestByFaultyMajority}`,
    `latency submit -> verified result: p50 ${ms(report.latencyMs.p50)}, p95 ${ms(report.latencyMs.p95)}, max ${ms(report.latencyMs.max)}`,
    `gas per task (every transaction of the run / tasks ended): ${report.gasPerTask ?? "-"}`,
    `tokens conserved: ${report.tokensConserved ? "yes" : "NO"}; escrow left: ${report.escrowAfter} wei`,
    report.violations.length ? `VIOLATIONS:\n${report.violations.map((v) => `  - ${v}`).join("\n")}` : "violations: none",
  ].join("\n");
}
