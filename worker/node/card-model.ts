import { execFile } from "node:child_process";
import { promisify } from "node:util";

export interface CardIdentity {
  cardModel: string;
  vramGb: number;
}

/** Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` (first GPU; MiB). */
export function parseNvidiaSmi(output: string): CardIdentity | undefined {
  const line = output.split("\n").find((l) => l.trim() !== "");
  if (!line) return undefined;
  const [name, mib] = line.split(",").map((field) => field.trim());
  const memoryMib = Number(mib);
  if (!name || !Number.isFinite(memoryMib) || memoryMib <= 0) return undefined;
  return { cardModel: name, vramGb: Math.max(1, Math.round(memoryMib / 1024)) };
}

/** The first NVIDIA GPU as nvidia-smi names it, or undefined where nvidia-smi is missing or fails. */
export async function detectNvidiaCard(): Promise<CardIdentity | undefined> {
  try {
    const { stdout } = await promisify(execFile)("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"], {
      timeout: 10_000,
    });
    return parseNvidiaSmi(stdout);
  } catch {
    return undefined;
  }
}
