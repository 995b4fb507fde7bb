/**
 * The largest legal tasks (docs/engine.md, Work bound) through the whole engine (GptEngine.runTask), against the
 * commit window every node of a group must meet. For a model of context C: a prompt of P tokens and max_new_tokens M
 * with P + M <= C, M × max(num_beams, num_return_sequences) <= MAX_GENERATED_TOKENS, P <= MAX_PROMPT_TOKENS:
 *   - beam:     num_beams 16, num_return_sequences 16, M = min(MAX / 16, C - 8), the longest prompt that still fits;
 *   - sampling: 16 returned sequences, the same M, temperature 100 and top_k 0 (so stop ids are rarely drawn);
 *   - greedy:   one sequence, M = min(MAX, C - 8), an 8-token prompt;
 *   - prompt:   the longest allowed prompt (min(MAX_PROMPT_TOKENS, C - 1) tokens), one new token.
 * Writes bench/worst-task.json and bench/worst-task.md.
 * Run: npx tsx scripts/bench-worst-task.ts [--model stories260K] [--models-dir DIR] [--commit-window 120] [--runs 3]
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { GptEngine, encodeTask, type TaskOutcome } from "../worker/engine/index.js";
import { loadModel } from "../worker/engine/model-loader.js";
import { promptTokenIds } from "../worker/engine/prompt.js";
import { MAX_GENERATED_TOKENS, MAX_PROMPT_TOKENS } from "../worker/engine/validation.js";
import { defaultModelsDir, repoRoot } from "../worker/paths.js";

const { values: flags } = parseArgs({
  options: {
    model: { type: "string", default: "stories260K" },
    "models-dir": { type: "string", default: defaultModelsDir() },
    "commit-window": { type: "string", default: "120" }, // deploy/triad.ts defaultParams().commitWindow
    runs: { type: "string", default: "3" },
  },
});
const MODEL = flags.model!;
const MODELS_DIR = flags["models-dir"]!;
const COMMIT_WINDOW = Number(flags["commit-window"]);
const RUNS = Number(flags.runs);
const WORDS = "Once upon a time there was a little girl named Lily who loved to play in the park with her friends".split(" ");

const settings = { device: "cpu", intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: "all" } as const;
const loaded = await loadModel({ model: MODEL }, MODELS_DIR, false, settings);
const context = loaded.contextLength;

/** A user message whose prompt is as long as possible without exceeding `tokens` tokens. */
function promptOf(tokens: number): { content: string; tokens: number } {
  let words = 0;
  let low = 0;
  let high = tokens; // every word is at least one token
  while (low < high) {
    words = Math.ceil((low + high) / 2);
    const text = Array.from({ length: words }, (_, i) => WORDS[i % WORDS.length]).join(" ");
    if (promptTokenIds(loaded.tokenizer, [{ role: "user", content: text }]).length <= tokens) low = words;
    else high = words - 1;
  }
  const content = Array.from({ length: low }, (_, i) => WORDS[i % WORDS.length]).join(" ");
  return { content, tokens: promptTokenIds(loaded.tokenizer, [{ role: "user", content }]).length };
}

// 16 rows of as many tokens as the bound allows, leaving a prompt of at least 8 tokens in the context.
const perRow = Math.min(MAX_GENERATED_TOKENS / 16, context - 8);
const longest = Math.min(MAX_PROMPT_TOKENS, context - 1);
const shapes = [
  {
    name: "beam 16 × 16",
    prompt: context - perRow,
    generation_config: { num_beams: 16, num_return_sequences: 16, max_new_tokens: perRow },
  },
  {
    name: "sampling 16 sequences",
    prompt: context - perRow,
    generation_config: { do_sample: true, num_return_sequences: 16, max_new_tokens: perRow, temperature: 100, top_k: 0 },
  },
  { name: "greedy, longest output", prompt: 8, generation_config: { max_new_tokens: Math.min(MAX_GENERATED_TOKENS, context - 8) } },
  { name: "longest prompt", prompt: longest, generation_config: { max_new_tokens: 1 } },
];

const engine = new GptEngine({ modelsDir: MODELS_DIR });
const rows = [];
for (const shape of shapes) {
  const prompt = promptOf(Math.min(shape.prompt, longest));
  const bytes = encodeTask({
    model: MODEL,
    messages: [{ role: "user", content: prompt.content }],
    seed: 1,
    generation_config: shape.generation_config,
  });
  const seconds: number[] = [];
  let outcome: TaskOutcome | undefined;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    outcome = await engine.runTask(bytes);
    seconds.push((performance.now() - started) / 1000);
  }
  if (outcome?.kind !== "response") throw new Error(`${shape.name}: expected a response, got ${outcome?.canonicalJson}`);
  const worst = Math.max(...seconds);
  rows.push({
    task: shape.name,
    generationConfig: shape.generation_config,
    promptTokens: outcome.metrics.promptTokens,
    completionTokens: outcome.metrics.completionTokens,
    seconds: seconds.map((s) => Number(s.toFixed(3))),
    worstSeconds: Number(worst.toFixed(3)),
    shareOfCommitWindow: Number((worst / COMMIT_WINDOW).toFixed(4)),
  });
  console.log(
    `${shape.name}: ${worst.toFixed(2)} s (${outcome.metrics.promptTokens} prompt, ${outcome.metrics.completionTokens} completion tokens)`,
  );
}
await engine.close();

const machine = `${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} cores, shared), Node ${process.version}`;
const report = {
  model: MODEL,
  contextLength: context,
  MAX_GENERATED_TOKENS,
  MAX_PROMPT_TOKENS,
  commitWindowSeconds: COMMIT_WINDOW,
  runs: RUNS,
  machine,
  rows,
};
const table = rows.map(
  (r) => `| ${r.task} | ${r.promptTokens} | ${r.completionTokens} | ${r.worstSeconds} | ${(r.shareOfCommitWindow * 100).toFixed(1)} % |`,
);
const markdown = [
  `# The largest legal tasks vs the commit window`,
  "",
  `Produced by \`npx tsx scripts/bench-worst-task.ts --model ${MODEL}\`: each task through \`GptEngine.runTask\` (CPU, fp32, 1 thread),`,
  `${RUNS} runs, the slowest kept. Model ${MODEL} (context ${context}); bounds: max_new_tokens × max(num_beams,`,
  `num_return_sequences) ≤ ${MAX_GENERATED_TOKENS}, prompt ≤ ${MAX_PROMPT_TOKENS} tokens; commit window ${COMMIT_WINDOW} s. Machine: ${machine}.`,
  "",
  "| task | prompt tokens | completion tokens (all sequences) | seconds (slowest run) | share of the commit window |",
  "| --- | ---: | ---: | ---: | ---: |",
  ...table,
  "",
].join("\n");
await writeFile(path.join(repoRoot, "bench/worst-task.json"), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(repoRoot, "bench/worst-task.md"), markdown);
