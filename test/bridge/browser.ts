import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { repoRoot } from "../../worker/paths.js";

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Screenshots of the chat page end up here (gitignored). */
export const SCREENSHOT_DIR = path.join(repoRoot, "bench", "out", "screenshots");

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install chromium\` or set CHROMIUM_PATH`);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

/** Opens the chat page with an API key, sends one message, and waits for an answer with its receipt. */
export async function chatOnce(browser: Browser, url: string, apiKey: string, message: string, timeoutMs: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  await page.goto(`${url}/#key=${apiKey}`);
  await page.locator("#model option").first().waitFor({ state: "attached", timeout: 10_000 });
  await page.fill("#prompt", message);
  await page.click("#send");
  await page.locator(".message.answer .receipt").first().waitFor({ timeout: timeoutMs });
  return page;
}
