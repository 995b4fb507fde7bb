import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../../worker/paths.js";

/** One family fixture's row of bench/families.json (scripts/bench-families.ts). */
export interface FamilyResult {
  family: string;
  fixture: string;
  layout: string;
  parameters: number;
  promptTokens: number;
  tokensPerSecond: { engine: number; bareForward: number };
  engineOverBare: number;
}

export interface FamiliesReport {
  newTokens: number;
  runs: number;
  threads: { intraOp: number; interOp: number };
  machine: Record<string, unknown>;
  results: FamilyResult[];
}

export const FAMILIES_JSON = path.join(repoRoot, "bench/families.json");
/** bench/engine.md's section rendered from bench/families.json lies between these markers. */
const START = "<!-- family fixtures: rendered from bench/families.json by scripts/bench-families.ts; do not edit -->";
const END = "<!-- end of family fixtures -->";

/** What bench/families.md says (the one source being bench/families.json). */
export function familiesMarkdown(report: FamiliesReport): string {
  return `# Engine decoding speed on the model-family fixtures (CPU, 1 intra-op + 1 inter-op thread)

${familiesBody(report)}`;
}

/**
 * Puts the family-fixture section into bench/engine.md's text: replaces the one between the markers, else appends
 * it. Without a report (no bench/families.json yet) the text is returned as it is.
 */
export function withFamiliesSection(engineMarkdown: string, report: FamiliesReport | undefined): string {
  if (!report) return engineMarkdown;
  const section = `${START}\n## The random-weight model-family fixtures\n\n${familiesBody(report)}${END}\n`;
  const start = engineMarkdown.indexOf(START);
  const end = engineMarkdown.indexOf(END);
  if (start >= 0 && end > start) return engineMarkdown.slice(0, start) + section + engineMarkdown.slice(end + END.length + 1);
  return `${engineMarkdown.trimEnd()}\n\n${section}`;
}

export function readFamiliesReport(): FamiliesReport | undefined {
  return existsSync(FAMILIES_JSON) ? (JSON.parse(readFileSync(FAMILIES_JSON, "utf8")) as FamiliesReport) : undefined;
}

function familiesBody(report: FamiliesReport): string {
  const rows = report.results.map(
    (r) =>
      `| ${r.family} | ${r.fixture} | ${r.parameters.toLocaleString("en-US")} | ${r.promptTokens} | ` +
      `${r.tokensPerSecond.engine} | ${r.tokensPerSecond.bareForward} | **${r.engineOverBare}** |`,
  );
  return `Produced by \`npx tsx scripts/bench-families.ts\`: the random-weight fixtures of docs/engine.md's family table
(real tokenizers and chat templates), greedy, ${report.newTokens} new tokens after a system + user chat prompt;
tokens/s = new tokens / whole call (prefill included), median of ${report.runs} runs with both contenders
interleaved round-robin after a warm-up round, in the same run. Machine: ${report.machine.cpu}
(${report.machine.cores} cores, shared), Node ${report.machine.node}, onnxruntime-node ${report.machine.onnxruntime}.

| family | fixture | parameters | prompt tokens | ours (worker/engine) | bare forward loop | ours / bare |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}

Bare loop: the same ONNX session, the inputs the graph takes, \`session.run\` + argmax, nothing else. The models
are tiny (hidden 24–32) with large vocabularies, so the lm_head and the per-token work over 32k–262k logits
dominate; these are not the real models' speeds. A family rerun alone (\`--family NAME\`) replaces its own row; a
row's two contenders always come from the same run. The same fixtures run through the devnet in
test/e2e/family-fixtures.test.ts.
`;
}
