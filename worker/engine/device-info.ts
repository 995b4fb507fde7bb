import { execFile } from "node:child_process";
import os from "node:os";
import { promisify } from "node:util";
import type { Device } from "./execution-provider.js";

/** The hardware a session runs on, as the worker reports it (card model group) and provenance records it. */
export interface DeviceInfo {
  device: Device;
  /** "NVIDIA H100 80GB HBM3", or for the CPU provider "CPU <model>" (stable: no clock or core count). */
  cardModel: string;
  /** GPU memory, or host memory for the CPU provider, in MiB. */
  memoryMiB: number;
  source: "nvidia-smi" | "os.cpus" | "unknown";
}

export const NVIDIA_SMI_ARGS = ["--query-gpu=name,memory.total", "--format=csv,noheader"];

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader` ("NVIDIA H100 80GB HBM3, 81559 MiB",
 * one line per GPU; `nounits` output without "MiB" is accepted too). Returns the first GPU, or undefined
 * when the output has no well-formed line.
 */
export function parseNvidiaSmiGpu(output: string): { cardModel: string; memoryMiB: number } | undefined {
  for (const line of output.split(/\r?\n/)) {
    const separator = line.lastIndexOf(",");
    if (separator < 0) continue;
    const name = line.slice(0, separator).trim();
    const memory = /^(\d+)\s*(MiB)?$/i.exec(line.slice(separator + 1).trim());
    if (name && memory && Number(memory[1]) > 0) return { cardModel: name, memoryMiB: Number(memory[1]) };
  }
  return undefined;
}

/** "CPU <model>" from os.cpus()[0].model with whitespace collapsed (the same string on every boot). */
export function cpuCardModel(cpuModel = os.cpus()[0]?.model): string {
  const model = (cpuModel ?? "").replace(/\s+/g, " ").trim();
  return `CPU ${model || "unknown"}`;
}

export type CommandRunner = (command: string, args: string[]) => Promise<string>;

const runCommand: CommandRunner = async (command, args) => (await promisify(execFile)(command, args, { timeout: 10_000 })).stdout;

/**
 * What `device` runs on. GPU providers ask nvidia-smi (the first GPU: onnxruntime uses device 0); when it is
 * missing or unreadable the card is reported as unknown rather than guessed.
 */
export async function deviceInfo(device: Device, run: CommandRunner = runCommand): Promise<DeviceInfo> {
  if (device === "cpu") {
    return { device, cardModel: cpuCardModel(), memoryMiB: Math.floor(os.totalmem() / 2 ** 20), source: "os.cpus" };
  }
  const gpu = await run("nvidia-smi", NVIDIA_SMI_ARGS).then(parseNvidiaSmiGpu, () => undefined);
  if (!gpu) return { device, cardModel: "unknown GPU", memoryMiB: 0, source: "unknown" };
  return { device, ...gpu, source: "nvidia-smi" };
}
