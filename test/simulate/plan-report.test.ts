import { expect } from "chai";
import { describe, it } from "mocha";
import { makePlan, parseFaultCounts, PlanError } from "../../worker/simulate/plan.js";
import { buildReport, percentile, type SimulationFacts } from "../../worker/simulate/report.js";

const A = "0x00000000000000000000000000000000000000aa";
const B = "0x00000000000000000000000000000000000000bb";
const C = "0x00000000000000000000000000000000000000cc";
const D = "0x00000000000000000000000000000000000000dd";

function facts(overrides: Partial<SimulationFacts>): SimulationFacts {
  return {
    tasks: [],
    slashes: [],
    faultyNodes: new Set(),
    submitFailures: [],
    gasUsed: 0n,
    tokens: { supplyBefore: 100n, supplyAfter: 100n, sumOfBalances: 100n, escrowAfter: 0n },
    ...overrides,
  };
}

describe("simulate: plan", function () {
  it("places colluders two to a group, then other faults round-robin, and never beyond a group's seats", function () {
    const plan = makePlan({
      groups: 2,
      nodesPerGroup: 4,
      faultCounts: { colluders: 2, wrong: 1, silent: 1, slow: 1 },
      tasks: 5,
      concurrency: 2,
    });
    const seats = plan.faults.map((f) => `${f.group}:${f.index}:${f.kind}`);
    expect(seats).to.deep.equal(["0:0:wrong", "0:1:wrong", "1:0:wrong", "0:2:silent", "1:1:slow"]);
    expect(plan.groups[0]!.faults).to.deep.equal({ 0: { wrongResult: true }, 1: { wrongResult: true }, 2: { skipCommit: true } });
    expect(plan.groups[1]!.faults).to.deep.equal({ 0: { wrongResult: true }, 1: { delayMs: 5000 } });
    expect(new Set(plan.groups.map((g) => g.cardModel)).size).to.equal(2);
  });

  it("refuses impossible plans with the rule that was broken", function () {
    expect(() => makePlan({ groups: 1, nodesPerGroup: 3, faultCounts: { wrong: 4 }, tasks: 1, concurrency: 1 })).to.throw(
      PlanError,
      /seats/,
    );
    expect(() => makePlan({ groups: 1, nodesPerGroup: 2, faultCounts: {}, tasks: 1, concurrency: 1 })).to.throw(
      PlanError,
      /nodes per group/,
    );
    expect(() => makePlan({ groups: 1, nodesPerGroup: 3, faultCounts: { colluders: 3 }, tasks: 1, concurrency: 1 })).to.throw(
      PlanError,
      /pairs/,
    );
    expect(() => parseFaultCounts("wrong=1,lazy=2")).to.throw(PlanError, /unknown fault "lazy"/);
    expect(() => parseFaultCounts("wrong")).to.throw(PlanError, /wrong needs a count/);
    expect(parseFaultCounts("wrong=1, crash=2")).to.deep.equal({ wrong: 1, crash: 2 });
  });
});

describe("simulate: report", function () {
  it("percentile is nearest-rank", function () {
    expect(percentile([], 50)).to.equal(null);
    expect(percentile([5, 1, 3, 2, 4], 50)).to.equal(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).to.equal(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).to.equal(9);
  });

  it("an honest node slashed beside at most one faulty node is a violation; outvoted by colluders it is residual risk", function () {
    const report = buildReport(
      facts({
        tasks: [
          { taskId: 1n, outcome: "succeeded", nodes: [A, B, C], latencyMs: 1000 },
          { taskId: 2n, outcome: "succeeded", nodes: [A, B, D], latencyMs: 3000 },
          { taskId: 3n, outcome: "succeeded", nodes: [A, C, D], latencyMs: 2000 },
        ],
        slashes: [
          { node: A, taskId: 1n }, // faulty
          { node: D, taskId: 2n }, // honest, outvoted by A and B
          { node: C, taskId: 3n }, // honest, only A faulty: a broken promise
        ],
        faultyNodes: new Set([A, B].map((a) => a.toLowerCase())),
        gasUsed: 3_000_000n,
      }),
    );
    expect(report.slashes).to.deep.equal({ faulty: 1, honestWithHonestMajority: 1, honestByFaultyMajority: 1 });
    expect(report.violations).to.have.length(1);
    expect(report.violations[0]).to.include(`honest node ${C} slashed in task 3`);
    expect(report.latencyMs).to.deep.equal({ p50: 2000, p95: 3000, max: 3000 });
    expect(report.gasPerTask).to.equal(1_000_000);
  });

  it("a task won by two colluders is the residual risk, not a lost answer; one faulty winner's lost answer is a violation", function () {
    const faultyNodes = new Set([A, B].map((a) => a.toLowerCase()));
    const report = buildReport(
      facts({
        tasks: [
          { taskId: 1n, outcome: "succeeded", nodes: [A, B, C], winners: [A, B], answerLost: "no bytes hash to the result" },
          { taskId: 2n, outcome: "succeeded", nodes: [A, C, D], winners: [C, D], answerLost: "relay unreachable" },
        ],
        faultyNodes,
      }),
    );
    expect(report.tasks).to.include({ wonByFaultyMajority: 1, answersLost: 1 });
    expect(report.violations).to.deep.equal(["task 2 succeeded on chain but its answer was not retrievable: relay unreachable"]);
  });

  it("lost answers, unfinished tasks, escrow left behind and unconserved tokens are violations", function () {
    const report = buildReport(
      facts({
        tasks: [
          { taskId: 1n, outcome: "unfinished", nodes: [] },
          { taskId: 2n, outcome: "succeeded", nodes: [A, B, C], answerLost: "relay unreachable" },
        ],
        tokens: { supplyBefore: 100n, supplyAfter: 100n, sumOfBalances: 99n, escrowAfter: 5n },
      }),
    );
    expect(report.tokensConserved).to.equal(false);
    expect(report.violations.join("\n"))
      .to.match(/neither succeeded/)
      .and.to.match(/not conserved/)
      .and.to.match(/task 2 succeeded on chain but its answer was not retrievable: relay unreachable/);
    expect(report.tasks.answersLost).to.equal(1);
    const clean = buildReport(
      facts({ tasks: [{ taskId: 1n, outcome: "aborted", reason: "TooFewCommitments", nodes: [A, B, C], latencyMs: 5 }] }),
    );
    expect(clean.violations).to.deep.equal([]);
    expect(clean.abortReasons).to.deep.equal({ TooFewCommitments: 1 });
    const stuck = buildReport(facts({ tokens: { supplyBefore: 1n, supplyAfter: 1n, sumOfBalances: 1n, escrowAfter: 3n } }));
    expect(stuck.violations.join()).to.match(/still escrowed/);
  });
});
