import { expect } from "chai";
import { describe, it } from "mocha";
import { applyEvent, emptyState, throughputPerMinute, type ExplorerEvent } from "../../worker/explorer/model.js";

const [A, B, C] = [
  "0xaaaa000000000000000000000000000000000001",
  "0xbbbb000000000000000000000000000000000002",
  "0xcccc000000000000000000000000000000000003",
];

function fold(events: Array<[number, ExplorerEvent]>) {
  const state = emptyState();
  for (const [time, event] of events) applyEvent(state, { event, time });
  return state;
}

const joins: Array<[number, ExplorerEvent]> = [A, B, C].map((node) => [
  100,
  { kind: "NodeJoined", node, groupId: "1", cardModel: "NVIDIA L4", vramGb: 24 },
]);

describe("explorer: folding events", function () {
  it("follows a task through commits, reveals and settlement, with a slashed node", function () {
    const state = fold([
      [90, { kind: "GroupAdded", groupId: "1", cardModel: "NVIDIA L4", vramGb: 24 }],
      ...joins,
      [200, { kind: "TaskCreated", taskId: "7", creator: A, fee: 10n ** 18n }],
      [202, { kind: "TaskStarted", taskId: "7", groupId: "1", nodes: [A, B, C], commitDeadline: 322 }],
      [205, { kind: "TaskCommitted", taskId: "7", node: B }],
      [206, { kind: "TaskCommitted", taskId: "7", node: A }],
      [207, { kind: "TaskCommitted", taskId: "7", node: C }],
      [207, { kind: "TaskRevealOpened", taskId: "7", revealDeadline: 327 }],
      [209, { kind: "TaskRevealed", taskId: "7", node: A, resultHash: "0x01" }],
      [210, { kind: "TaskRevealed", taskId: "7", node: C, resultHash: "0x02" }],
      [211, { kind: "TaskRevealed", taskId: "7", node: B, resultHash: "0x01" }],
      [211, { kind: "NodeSlashed", node: C, taskId: "7", amount: 400n * 10n ** 18n }],
      [211, { kind: "TaskSucceeded", taskId: "7", resultHash: "0x01" }],
    ]);
    const task = state.tasks.get("7")!;
    expect(task.status).to.equal("succeeded");
    expect(task.resultHash).to.equal("0x01");
    expect(task.timeline).to.deep.equal({
      created: 200,
      started: 202,
      commits: { [B]: 205, [A]: 206, [C]: 207 },
      revealOpened: 207,
      reveals: { [A]: 209, [C]: 210, [B]: 211 },
      ended: 211,
    });
    expect(task.slashed).to.deep.equal([C]);
    expect(state.nodes.get(C)).to.include({ tasks: 1, slashes: 1, slashedAmount: (400n * 10n ** 18n).toString() });
    expect(state.nodes.get(A)).to.include({ tasks: 1, slashes: 0 });
    expect(state.groups.get("1")!.nodes).to.deep.equal([A, B, C]);
  });

  it("an aborted task keeps its reason; events of tasks created before the indexed range are skipped", function () {
    const state = fold([
      ...joins,
      [300, { kind: "TaskCommitted", taskId: "1", node: A }],
      [300, { kind: "TaskCreated", taskId: "2", creator: A, fee: 1n }],
      [301, { kind: "TaskAborted", taskId: "2", reason: "QueueTimeout" }],
    ]);
    expect(state.tasks.has("1")).to.equal(false);
    expect(state.tasks.get("2")).to.include({ status: "aborted", abortReason: "QueueTimeout" });
  });

  it("throughput counts settled tasks per minute, empty minutes included", function () {
    const state = fold([
      [0, { kind: "TaskCreated", taskId: "1", creator: A, fee: 1n }],
      [0, { kind: "TaskCreated", taskId: "2", creator: A, fee: 1n }],
      [0, { kind: "TaskCreated", taskId: "3", creator: A, fee: 1n }],
      [0, { kind: "TaskCreated", taskId: "4", creator: A, fee: 1n }],
      [61, { kind: "TaskSucceeded", taskId: "1", resultHash: "0x1" }],
      [119, { kind: "TaskAborted", taskId: "2", reason: "NoMajority" }],
      [185, { kind: "TaskSucceeded", taskId: "3", resultHash: "0x1" }],
    ]);
    expect(throughputPerMinute([...state.tasks.values()])).to.deep.equal([
      { minute: 60, succeeded: 1, aborted: 1 },
      { minute: 120, succeeded: 0, aborted: 0 },
      { minute: 180, succeeded: 1, aborted: 0 },
    ]);
  });
});
