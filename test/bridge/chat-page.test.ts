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
