// Runs task documents (base64 bytes, a JSON array on stdin) in this process and prints each outcome's
// canonical JSON, one per line: the cross-process half of test/engine/adversarial-tasks.test.ts (lives outside test/:
// Hardhat's mocha loads every file there).
import { GptEngine } from "../worker/engine/index.js";

const modelsDir = process.argv[2]!;
const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const tasks = JSON.parse(Buffer.concat(chunks).toString("utf8")) as string[];
const engine = new GptEngine({ modelsDir });
for (const task of tasks) {
  const outcome = await engine.runTask(Buffer.from(task, "base64"));
  process.stdout.write(`${outcome.canonicalJson}\n`);
}
await engine.close();
