import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { defaultModelsDir } from "../paths.js";
import { makePlan, parseFaultCounts, PlanError, type SimulationPlan } from "../simulate/plan.js";
import { formatReport } from "../simulate/report.js";
import { runSimulation } from "../simulate/run.js";

interface SimulateCliOptions {
  groups: number;
  nodesPerGroup: number;
  tasks: number;
  concurrency: number;
  faults: string;
  relayOutage: Array<{ atMs: number; durationMs: number }>;
  slowMs: number;
  blockTime: number;
  stateDir: string;
  modelsDir: string;
  out?: string;
}

export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description("Play a fault mix against a local network (real chain, relay, workers) and report what the protocol did")
    .option("--groups <n>", "card-model groups", integer("--groups"), 2)
    .option("--nodes-per-group <n>", "workers per group (3..8)", integer("--nodes-per-group"), 4)
    .option("--tasks <n>", "tasks to submit", integer("--tasks"), 12)
    .option("--concurrency <n>", "tasks in flight at once", integer("--concurrency"), 4)
    .option("--faults <list>", "faulty nodes, e.g. wrong=1,silent=1,withhold=1,crash=1,slow=1,colluders=2", "wrong=1,silent=1")
    .option("--relay-outage <at:seconds>", "stop the relay AT s after the first task for SECONDS (repeatable)", outage, [])
    .option("--slow-ms <ms>", "how late a slow node commits", integer("--slow-ms"), 5_000)
    .option("--block-time <seconds>", "0: automine; N: a block every N seconds", integer("--block-time"), 0)
    .option("--state-dir <dir>", "devnet state (wiped at start)", ".triad/simulate")
    .option("--models-dir <dir>", "local models the workers load", defaultModelsDir())
    .option("--out <file>", "also write the report and the plan as JSON")
    .action(async (options: SimulateCliOptions) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
      let plan: SimulationPlan;
      try {
        plan = makePlan({
          groups: options.groups,
          nodesPerGroup: options.nodesPerGroup,
          faultCounts: parseFaultCounts(options.faults),
          tasks: options.tasks,
          concurrency: options.concurrency,
          relayOutages: options.relayOutage,
          slowMs: options.slowMs,
        });
      } catch (error) {
        if (!(error instanceof PlanError)) throw error;
        console.error(`triad simulate: ${error.message}`);
        process.exit(2);
      }
      const { report } = await runSimulation({
        plan,
        stateDir: path.resolve(options.stateDir),
        modelsDir: options.modelsDir,
        blockTimeSeconds: options.blockTime,
        log: (line) => console.error(`  ${line}`),
      });
      console.log(formatReport(report));
      if (options.out) {
        mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
        const json = JSON.stringify(
          { plan: { ...plan, groups: plan.groups }, report },
          (_, v) => (typeof v === "bigint" ? String(v) : v),
          2,
        );
        writeFileSync(options.out, `${json}\n`);
      }
      process.exit(report.violations.length === 0 ? 0 : 1);
    });
}

function integer(flag: string): (text: string) => number {
  return (text) => {
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text)))
      throw new InvalidArgumentError(`${flag} must be a non-negative integer`);
    return Number(text);
  };
}

function outage(text: string, previous: Array<{ atMs: number; durationMs: number }>) {
  const match = /^([0-9]+(?:\.[0-9]+)?):([0-9]+(?:\.[0-9]+)?)$/.exec(text);
  if (!match) throw new InvalidArgumentError(`--relay-outage must be AT:SECONDS, e.g. 5:8 (got ${text})`);
  return [...previous, { atMs: Number(match[1]) * 1000, durationMs: Number(match[2]) * 1000 }];
}
