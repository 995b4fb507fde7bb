/**
 * Reliability under load and faults, on one devnet (2 groups x 3 CPU workers, stories260K, automine, the bridge).
 * Every request goes through the official openai client with an Idempotency-Key, as docs/bridge.md advises, and
 * retries as the client does (network errors and 5xx, unless the bridge says x-should-retry: false).
 * Scenarios: load (concurrency 12, and 90 with --heavy), a relay outage of 8 s and of 20 s, the bridge killed (-9)
 * and restarted, a worker of each group killed (-9) and restarted. For each: requests answered, refunded, answered
 * later (a paid task whose answer the client did not get but GET /v1/triad/tasks/:id serves), lost (paid, neither
 * answered nor retrievable nor refunded), duplicate paid tasks, honest slashes, latency p50/p95 of the answers.
 * Writes bench/reliability.json and bench/reliability.md.
 * Run: npx tsx scripts/bench-reliability.ts [--heavy]
 */
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import OpenAI from "openai";
import { TaskManager__factory } from "../typechain-types/index.js";
import { NodeRegistry__factory } from "../typechain-types/index.js";
import { startDevnet, type Devnet } from "../worker/devnet/devnet.js";
import { repoRoot } from "../worker/paths.js";

const HEAVY = process.argv.includes("--heavy");
const MAX_TOKENS = 24;

interface Outcome {
  key: string;
  ok: boolean;
  /** Times the application repeated the request with its Idempotency-Key (the client's own retries aside). */
  repeats: number;
  seconds: number;
  taskId?: string;
  error?: string;
}

interface ScenarioReport {
  scenario: string;
  requests: number;
  /** Requests the application had to repeat (same Idempotency-Key) because the bridge was unreachable. */
  repeated: number;
  answered: number;
  refunded: number;
  answeredLater: number;
  notPaid: number;
  lost: number;
  duplicateTasks: number;
  honestSlashes: number;
  p50Seconds: number | null;
  p95Seconds: number | null;
  wallSeconds: number;
}

const devnet: Devnet = await startDevnet({
  stateDir: path.join(repoRoot, ".triad", "bench-reliability"),
  onProgress: (m) => console.log(`  ${m}`),
});
const { manifest } = devnet;
const taskManager = TaskManager__factory.connect(devnet.deployment.taskManager, devnet.provider);
const registry = NodeRegistry__factory.connect(devnet.deployment.nodeRegistry, devnet.provider);
const stateFile = path.join(manifest.stateDir, "bridge", "bridge-state.sqlite");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function client(maxRetries: number): OpenAI {
  return new OpenAI({ apiKey: manifest.bridge.apiKey, baseURL: `${manifest.bridge.url}/v1`, maxRetries, timeout: 300_000 });
}

/** One application request: retried by the client itself, and again with the same key by the application. */
async function request(label: string, i: number, maxRetries: number, appAttempts = 1): Promise<Outcome> {
  const key = `${label}-${i}-${randomUUID()}`;
  const body = {
    model: "stories260K",
    messages: [{ role: "user" as const, content: `Once upon a time ${label} ${i}` }],
    temperature: 0,
    max_tokens: MAX_TOKENS,
  };
  const started = performance.now();
  let lastError = "";
  for (let attempt = 0; attempt < appAttempts; attempt++) {
    try {
      const completion = await client(maxRetries).chat.completions.create(body, { headers: { "Idempotency-Key": key } });
      const taskId = (completion as unknown as { triad: { task_id: string } }).triad.task_id;
      return { key, ok: true, repeats: attempt, seconds: (performance.now() - started) / 1000, taskId };
    } catch (error) {
      lastError = (error as Error).message;
      const retryable =
        !(error instanceof OpenAI.APIError) || error.status === undefined || error.headers?.get("x-should-retry") === "true";
      if (!retryable) break;
      await sleep(1_000);
    }
  }
  return { key, ok: false, repeats: appAttempts - 1, seconds: (performance.now() - started) / 1000, error: lastError };
}

async function tasksSince(block: number): Promise<bigint[]> {
  const events = await taskManager.queryFilter(taskManager.filters.TaskCreated(undefined, manifest.bridge.payer), block);
  return events.map((e) => e.args.taskId);
}

async function waitFinal(taskIds: bigint[], timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const id of taskIds) {
    while ((await taskManager.getTask(id)).status < 4n) {
      if (Date.now() > deadline) return;
      await sleep(500);
    }
  }
}

async function retrievable(taskId: string): Promise<boolean> {
  const response = await fetch(`${manifest.bridge.url}/v1/triad/tasks/${taskId}?wait=30`, {
    headers: { authorization: `Bearer ${manifest.bridge.apiKey}` },
  });
  return response.status === 200;
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 100) / 100;
}

async function scenario(
  name: string,
  count: number,
  concurrency: number,
  fault: () => Promise<void>,
  retries = 2,
  appAttempts = 1,
): Promise<ScenarioReport> {
  console.log(`scenario: ${name}`);
  const startBlock = await devnet.provider.getBlockNumber();
  const slashesBefore = (await registry.queryFilter(registry.filters.NodeSlashed(), startBlock)).length;
  const started = performance.now();
  const outcomes: Outcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) outcomes.push(await request(name.replace(/\W+/g, "-"), next++, retries, appAttempts));
  };
  await Promise.all([...Array.from({ length: concurrency }, lane), fault()]);
  const wallSeconds = Math.round(((performance.now() - started) / 1000) * 10) / 10;

  const created = await tasksSince(startBlock + 1);
  await waitFinal(created);
  const db = new DatabaseSync(stateFile, { readOnly: true });
  const row = (key: string) =>
    db.prepare("SELECT task_id, state FROM requests WHERE idempotency_key = ?").get(key) as
      | { task_id: string | null; state: string }
      | undefined;
  let refunded = 0;
  let answeredLater = 0;
  let notPaid = 0;
  let lost = 0;
  const mapped = new Set<string>();
  for (const outcome of outcomes) {
    const record = row(outcome.key);
    if (record?.task_id) mapped.add(record.task_id);
    if (outcome.ok) continue;
    if (!record || (record.task_id === null && record.state === "refunded")) notPaid++;
    else if (record.task_id === null) lost++;
    else {
      const status = (await taskManager.getTask(BigInt(record.task_id))).status;
      if (status === 5n) refunded++;
      else if (status === 4n && (await retrievable(record.task_id))) answeredLater++;
      else lost++;
    }
    console.log(`    ${outcome.key}: ${outcome.error}`);
  }
  db.close();
  const slashes = (await registry.queryFilter(registry.filters.NodeSlashed(), startBlock)).length - slashesBefore;
  const answered = outcomes.filter((o) => o.ok);
  const report: ScenarioReport = {
    scenario: name,
    requests: outcomes.length,
    repeated: outcomes.filter((o) => o.repeats > 0).length,
    answered: answered.length,
    refunded,
    answeredLater,
    notPaid,
    lost,
    duplicateTasks: created.filter((id) => !mapped.has(id.toString())).length,
    honestSlashes: slashes,
    p50Seconds: percentile(
      answered.map((o) => o.seconds),
      50,
    ),
    p95Seconds: percentile(
      answered.map((o) => o.seconds),
      95,
    ),
    wallSeconds,
  };
  console.log(`  ${JSON.stringify(report)}`);
  return report;
}

const none = async () => undefined;
const reports: ScenarioReport[] = [];
try {
  await request("warm-up", 0, 2);
  reports.push(await scenario("load, concurrency 12", 24, 12, none));
  if (HEAVY) reports.push(await scenario("load, concurrency 90", 90, 90, none));
  for (const seconds of [8, 20]) {
    reports.push(
      await scenario(`relay outage ${seconds} s`, 12, 12, async () => {
        await sleep(1_500);
        await devnet.stopRelay();
        await sleep(seconds * 1000);
        await devnet.startRelay();
      }),
    );
  }
  // The application repeats a request with its Idempotency-Key while the bridge is down (as docs/bridge.md says).
  reports.push(
    await scenario(
      "bridge kill -9 and restart",
      12,
      12,
      async () => {
        await sleep(2_000);
        await devnet.killBridge();
        await sleep(1_000);
        await devnet.startBridge();
      },
      2,
      10,
    ),
  );
  reports.push(
    await scenario("worker kill -9 (one per group) and restart", 12, 12, async () => {
      await sleep(2_000);
      const victims = [manifest.workers.find((w) => w.vramGb === 80)!, manifest.workers.find((w) => w.vramGb === 24)!];
      await Promise.all(victims.map((w) => devnet.workerProcess(w.name)?.kill()));
      await sleep(2_000);
      for (const w of victims) await devnet.restartWorker(w.name);
    }),
  );
} finally {
  await devnet.stop();
}

const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}`;
await writeFile(
  path.join(repoRoot, "bench", "reliability.json"),
  `${JSON.stringify({ machine, maxTokens: MAX_TOKENS, reports }, null, 2)}\n`,
);
const rows = reports.map(
  (r) =>
    `| ${r.scenario} | ${r.requests} | ${r.repeated} | ${r.answered} | ${r.refunded} | ${r.answeredLater} | ${r.notPaid} | ` +
    `**${r.lost}** | ${r.duplicateTasks} | ` +
    `${r.honestSlashes} | ${r.p50Seconds ?? "–"} | ${r.p95Seconds ?? "–"} | ${r.wallSeconds} |`,
);
await writeFile(
  path.join(repoRoot, "bench", "reliability.md"),
  `# Reliability: load and faults through the bridge

\`npx tsx scripts/bench-reliability.ts\` (\`--heavy\` adds concurrency 90). One devnet: 2 groups x 3 CPU workers
(stories260K, greedy, max_tokens ${MAX_TOKENS}), automine, the bridge; every request through the official \`openai\`
client with an \`Idempotency-Key\` and its default retries (2). Machine: ${machine}, shared with other jobs.

| scenario | requests | repeated by the app | answered | refunded | answered later | not paid | lost | duplicate paid tasks \
| honest slashes | p50 s | p95 s | wall s |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

- repeated by the app: requests whose connection failed after the client's own retries and that the application
  sent again with the same Idempotency-Key. answered: the client got the verified answer. refunded: the task
  aborted or was cancelled and the bridge refunded the key. answered later: a paid task whose answer the client did
  not get, served by \`GET /v1/triad/tasks/:id\`. not paid: refused before any fee. **lost**: paid, and neither
  answered, retrievable nor refunded. duplicate paid tasks: tasks of the bridge's wallet that no request maps to (a retry that paid twice).
- relay outage: the relay is stopped 1.5 s after the requests start and restarted N s later (same port and data).
- bridge kill -9: SIGKILL 2 s in, restarted 1 s later on the same state file; the application repeats a request
  whose connection failed with the same Idempotency-Key (at most 10 times, 1 s apart).
- worker kill -9: one worker of each group SIGKILLed 2 s in and restarted 2 s later from its journal.
${HEAVY ? "" : "- concurrency 90 was not run (it needs `--heavy`: 90 tasks on 6 CPU workers take minutes on a shared 2-core machine).\n"}`,
);
console.log("wrote bench/reliability.json and bench/reliability.md");
