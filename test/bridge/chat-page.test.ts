import { expect } from "chai";
import path from "node:path";
import type { Browser } from "playwright-core";
import { KEY, NODES, RESULT_HASH, fakeBridge } from "./fake-network.js";
import { SCREENSHOT_DIR, chatOnce, launchChromium } from "./browser.js";

describe("bridge: chat page in headless Chromium (fake network)", function () {
  this.timeout(60_000);
  let browser: Browser;
  let bridge: Awaited<ReturnType<typeof fakeBridge>>;

  before(async function () {
    browser = await launchChromium();
    bridge = await fakeBridge();
  });
  after(async function () {
    await browser?.close();
    await bridge?.app.close();
  });

  it("sends the typed message with the panel's settings and shows the answer with task id, nodes and result hash", async function () {
    const page = await chatOnce(browser, bridge.url, KEY.key, "Tell me a story", 20_000);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "chat-page-fake-network.png") });
    expect(await page.locator(".message.answer .text").first().textContent()).to.equal("echo 0: Tell me a story");
    const receipt = (await page.locator(".message.answer .receipt").first().textContent())!;
    expect(receipt).to.contain("task 1");
    for (const node of NODES) expect(receipt).to.contain(node);
    expect(receipt).to.contain(RESULT_HASH);
    // The panel's defaults: greedy (temperature 0), 64 tokens.
    expect(bridge.network.submitted[0]!.generation_config).to.deep.include({ do_sample: false, max_new_tokens: 64 });

    await page.fill("#temperature", "0.9");
    await page.fill("#prompt", "And then?");
    await page.click("#send");
    await page.locator(".message.answer").nth(1).waitFor();
    const second = bridge.network.submitted[1]!;
    expect(second.generation_config).to.deep.include({ do_sample: true, temperature: 0.9 });
    expect(second.messages.map((m) => m.role)).to.deep.equal(["user", "assistant", "user"]);
  });

  it("after the connection drops once the bridge has paid, asks again with the same Idempotency-Key: one task, one answer", async function () {
    const page = await browser.newPage();
    await page.goto(`${bridge.url}/#key=${KEY.key}`);
    await page.locator("#model option").first().waitFor({ state: "attached", timeout: 10_000 });
    const keys: string[] = [];
    await page.route("**/v1/chat/completions", async (route) => {
      keys.push(route.request().headers()["idempotency-key"] ?? "");
      const answer = await route.fetch(); // the bridge pays and answers...
      if (keys.length === 1) return route.abort("connectionreset"); // ...but the page never hears it
      return route.fulfill({ response: answer });
    });
    const tasksBefore = bridge.network.submitted.length;
    await page.fill("#prompt", "Are you still there?");
    await page.click("#send");
    await page.locator(".message.answer .receipt").first().waitFor({ timeout: 20_000 });
    expect(await page.locator(".message.answer .text").first().textContent()).to.contain("Are you still there?");
    expect(keys).to.have.length(2);
    expect(keys[0]).to.match(/^chat-[0-9a-f]{32}$/);
    expect(keys[1], "the repeat carries the same key").to.equal(keys[0]);
    expect(bridge.network.submitted.length - tasksBefore, "one paid task").to.equal(1);
    expect(await page.locator(".message.error").count()).to.equal(0);
  });

  it("shows the bridge's error message for a wrong key", async function () {
    const page = await browser.newPage();
    await page.goto(`${bridge.url}/#key=sk-wrong-key-00000000000`);
    await page.fill("#prompt", "hello");
    await page.click("#send");
    const error = page.locator(".message.error .text");
    await error.waitFor({ timeout: 10_000 });
    expect(await error.textContent()).to.contain("Incorrect API key");
  });
});
