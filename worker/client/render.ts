import type { GptResponse, TaskErrorDocument } from "../engine/index.js";
import type { TaskResult } from "./result.js";

/** How to name a node in the output (e.g. the devnet worker name); default: the address alone. */
export type NodeLabel = (address: string) => string | undefined;

/** A ChatGPT-style rendering of a task's outcome, with the evidence: task id, nodes, verified hash. */
export function renderTaskResult(result: TaskResult, nodeLabel: NodeLabel = () => undefined): string {
  const label = (address: string) => {
    const name = nodeLabel(address);
    return name ? `${address} (${name})` : address;
  };
  const lines = [`Task ${result.taskId}: ${result.outcome === "succeeded" ? "Succeeded" : `Aborted (${result.reason})`}`];
  lines.push(`  nodes:`);
  for (const node of result.nodes) {
    const reveal = result.reveals.find((r) => r.node.toLowerCase() === node.toLowerCase());
    const verdict =
      reveal === undefined
        ? "did not reveal"
        : result.outcome === "succeeded" && reveal.resultHash === result.resultHash
          ? "revealed the winning hash"
          : `revealed ${reveal.resultHash}`;
    lines.push(`    ${label(node)}: ${verdict}`);
  }
  if (result.outcome === "aborted") return lines.join("\n");

  lines.push(`  args hash:   ${result.argsHash} (the task document, on chain)`);
  lines.push(`  weights:     ${result.model.id} at revision ${result.model.revision}, files digest ${result.model.digest} (registry)`);
  lines.push(`  result hash: ${result.resultHash} (verified: keccak256 of the downloaded bytes)`);
  if ("error" in result.document) {
    lines.push(...renderError(result.document));
  } else {
    lines.push(...renderResponse(result.document));
  }
  return lines.join("\n");
}

function renderResponse(response: GptResponse): string[] {
  const { usage } = response;
  const lines = [
    `  model: ${response.model}; tokens: ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion = ${usage.total_tokens}`,
  ];
  for (const choice of response.choices) {
    lines.push(``, `  ${choice.message.role} [choice ${choice.index}, finish_reason ${choice.finish_reason}]:`);
    lines.push(...choice.message.content.split("\n").map((line) => `    ${line}`));
  }
  return lines;
}

function renderError(document: TaskErrorDocument): string[] {
  return [`  outcome: the nodes agreed the task is invalid`, `  error: ${document.error.code}: ${document.error.message}`];
}
