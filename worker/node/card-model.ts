import { execFile } from "node:child_process";
import os from "node:os";
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

/** The CPU as a card: what a CPU-only node runs tasks on (its RAM stands in for VRAM). */
export function cpuIdentity(): CardIdentity {
  const model = os.cpus()[0]?.model.trim() || "unknown CPU";
  return { cardModel: `CPU ${model}`.slice(0, 64), vramGb: Math.max(1, Math.floor(os.totalmem() / 2 ** 30)) };
}

export interface CardChoice {
  identity: CardIdentity;
  source: "nvidia-smi" | "config" | "cpu";
  /** Set when the configured card is overridden or looks wrong. */
  warning?: string;
}

/**
 * The group a node joins is the device its engine actually runs on: on a GPU provider, the GPU nvidia-smi reports
 * (a differently configured name is overridden, so a node cannot land in a group whose numerics it does not share);
 * on the CPU provider, the configured card (devnets emulate GPU groups this way), else the CPU itself.
 */
export function chooseCardIdentity(device: string, configured: CardIdentity | undefined, gpu: CardIdentity | undefined): CardChoice {
  if (device !== "cpu") {
    if (!gpu) throw new Error(`device ${device} needs an NVIDIA GPU, but nvidia-smi reports none`);
    const differs = configured && (configured.cardModel !== gpu.cardModel || configured.vramGb !== gpu.vramGb);
    return {
      identity: gpu,
      source: "nvidia-smi",
      ...(differs ? { warning: `configured card "${configured.cardModel}" / ${configured.vramGb} GB ignored: the engine runs on "${gpu.cardModel}" / ${gpu.vramGb} GB` } : {}),
    };
  }
  if (configured) return { identity: configured, source: "config" };
  return { identity: cpuIdentity(), source: "cpu" };
}
