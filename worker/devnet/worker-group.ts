import type { WorkerFaults } from "../node/config.js";
import type { CardGroup } from "./card-groups.js";

/** A set of identical GPUs to emulate: tasks only ever go to three workers of one (cardModel, vramGb) group. */
export interface WorkerGroupSpec extends CardGroup {
  count: number;
  /** Fault switches (tests and the demo only) for the worker at each index of the group. */
  faults?: Record<number, WorkerFaults>;
}

/** Two card models, three workers each: the smallest devnet on which every group can reach a majority. */
export const DEFAULT_WORKER_GROUPS: WorkerGroupSpec[] = [
  { cardModel: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 3 },
  { cardModel: "NVIDIA GeForce RTX 4090", vramGb: 24, count: 3 },
];

/** The card groups the devnet's governance adds at start, workers or not: the default workers' cards. */
export const DEFAULT_CARD_GROUPS: CardGroup[] = DEFAULT_WORKER_GROUPS.map(({ cardModel, vramGb }) => ({ cardModel, vramGb }));

export function checkWorkerGroup(group: WorkerGroupSpec): void {
  if (typeof group.cardModel !== "string" || group.cardModel.trim() === "") {
    throw new Error(`worker group cardModel must be a non-empty string (got ${JSON.stringify(group.cardModel)})`);
  }
  if (!Number.isInteger(group.vramGb) || group.vramGb < 1) {
    throw new Error(`worker group "${group.cardModel}": vramGb must be a positive integer (got ${group.vramGb})`);
  }
  if (!Number.isInteger(group.count) || group.count < 1) {
    throw new Error(`worker group "${group.cardModel}": count must be a positive integer (got ${group.count})`);
  }
  for (const index of Object.keys(group.faults ?? {})) {
    if (!(Number(index) >= 0 && Number(index) < group.count)) {
      throw new Error(`worker group "${group.cardModel}": faults are given for worker ${index}, but the group has ${group.count}`);
    }
  }
}

/** "NVIDIA GeForce RTX 4090" -> "rtx-4090-w1": short, file-name safe, unique within the devnet. */
export function workerName(cardModel: string, serial: number): string {
  const words = cardModel
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim()
    .split(" ")
    .filter((w) => !["nvidia", "geforce", "hbm3", "sxm", "pcie"].includes(w));
  return `${words.slice(0, 2).join("-") || "gpu"}-w${serial}`;
}
