import { expect } from "chai";
import Fastify, { type FastifyInstance } from "fastify";
import { after, before, describe, it } from "mocha";
import path from "node:path";
import type { Browser } from "playwright-core";
import type { NetworkSnapshot } from "../../worker/explorer/indexer.js";
import { registerExplorer } from "../../worker/explorer/routes.js";
import { launchChromium, SCREENSHOT_DIR } from "../bridge/browser.js";

const NODES = [
  "0xaaaa000000000000000000000000000000000001",
  "0xbbbb000000000000000000000000000000000002",
  "0xcccc000000000000000000000000000000000003",
];
const STAKE = (400n * 10n ** 18n).toString();

function snapshot(requests: number): NetworkSnapshot {
  return {
    head: { number: 40 + requests, time: 1_800_000_000 },
    groups: [{ groupId: "1", cardModel: "NVIDIA L4", vramGb: 24, nodes: 3 }],
    nodes: NODES.map((address, i) => ({
      address,
      groupId: "1",
      stake: i === 2 ? "0" : STAKE,
      status: i === 2 ? "None" : "Available",
      tasks: 2,
      slashes: i === 2 ? 1 : 0,
      slashedAmount: i === 2 ? STAKE : "0",
    })),
    tasks: [
      {
        taskId: "2",
        creator: NODES[0]!,
        fee: "1",
        groupId: "1",
        nodes: NODES,
        status: "succeeded",
        resultHash: `0x${"ab".repeat(32)}`,
        timeline: {
          created: 100,
          started: 102,
          commits: { [NODES[0]!]: 105, [NODES[1]!]: 106, [NODES[2]!]: 106 },
          revealOpened: 106,
          reveals: { [NODES[0]!]: 108, [NODES[1]!]: 108, [NODES[2]!]: 109 },
          ended: 109,
        },
        slashed: [NODES[2]!],
      },
      {
        taskId: "1",
        creator: NODES[0]!,
        fee: "1",
        nodes: [],
        status: "aborted",
        abortReason: "QueueTimeout",
        timeline: { created: 40, commits: {}, reveals: {}, ended: 60 },
        slashed: [],
      },
    ],
    latency: [
      { taskId: "1", ended: 60, seconds: 20, status: "aborted" },
      { taskId: "2", ended: 109, seconds: 9, status: "succeeded" },
    ],
    throughput: [{ minute: 60, succeeded: 1, aborted: 1 }],
  };
}

describe("explorer page in headless Chromium", function () {
  this.timeout(60_000);
  let browser: Browser;
  let app: FastifyInstance;
  let url: string;
  let requests = 0;

  before(async function () {
    browser = await launchChromium();
    app = Fastify();
    registerExplorer(app, { snapshot: async () => snapshot(++requests) });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(async function () {
    await browser?.close();
    await app?.close();
  });

  it("shows groups, nodes with stake and slashes, tasks with their commit/reveal timeline, and both plots", async function () {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    await page.goto(`${url}/explorer`);
    await page.locator("#tasks tbody tr").first().waitFor();
    expect(await page.locator("#groups tbody tr td").allTextContents()).to.deep.equal(["1", "NVIDIA L4", "24 GB", "3"]);
    const nodeRows = await page.locator("#nodes tbody tr").allInnerTexts();
    expect(nodeRows).to.have.length(3);
    expect(nodeRows[0]).to.contain(NODES[0]).and.contain("400");
    expect(nodeRows[2]).to.contain("1 (400 TRIAD)");
    const taskRows = await page.locator("#tasks tbody tr").allInnerTexts();
    expect(taskRows[0]).to.contain("succeeded").and.contain("0xcccc…0003 (slashed)");
    expect(taskRows[1]).to.contain("aborted").and.contain("QueueTimeout");
    expect(await page.locator('svg[data-task="2"] .commit').count()).to.equal(3);
    expect(await page.locator('svg[data-task="2"] .reveal').count()).to.equal(3);
    expect(await page.locator("#latency .point").count()).to.equal(2);
    expect(await page.locator("#throughput .point").count()).to.equal(1);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "explorer.png"), fullPage: true });
    // It keeps refreshing: the head block moves with each snapshot.
    const first = await page.locator("#head").textContent();
    await page.locator("#head").filter({ hasNotText: first! }).waitFor({ timeout: 10_000 });
  });

  it("serves the snapshot as JSON to any client", async function () {
    const response = await fetch(`${url}/v1/triad/network`);
    expect(response.status).to.equal(200);
    const body = (await response.json()) as NetworkSnapshot;
    expect(body.groups[0]!.cardModel).to.equal("NVIDIA L4");
  });
});
