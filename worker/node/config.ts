import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import { describeSchemaErrors } from "../schema-errors.js";
import { defaultModelsDir } from "../paths.js";
import type { Device } from "../engine/model-loader.js";

export interface PreloadSpec {
  model: string;
  dtype?: "float16" | "bfloat16" | "float32" | "auto";
  quantize_bits?: 4 | 8;
}

/** Misbehaviour on purpose, for tests and the demo: the worker config's `faults`, and the devnet's per-worker switches. */
export interface WorkerFaults {
  wrongResult?: boolean;
  skipCommit?: boolean;
  skipReveal?: boolean;
  exitAfterCommit?: boolean;
  /** A slow node: waits this long after computing a result before committing. */
  delayMs?: number;
}

export type ShutdownAction = "pause" | "quit" | "stay";

/** The worker's configuration file with every default filled in and every path absolute. */
export interface WorkerConfig {
  rpcUrl: string;
  privateKey: string;
  relayUrl: string;
  deployment: string;
  stateDir: string;
  cardModel?: string;
  vramGb?: number;
  modelsDir: string;
  allowRemoteModels: boolean;
  device: Device;
  threads: number;
  preload: PreloadSpec[];
  pollIntervalMs: number;
  safetyMarginSeconds: number;
  onShutdown: ShutdownAction;
  metrics?: { host: string; port: number };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
  faults: WorkerFaults;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const schema = JSON.parse(readFileSync(new URL("./config.schema.json", import.meta.url), "utf8"));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** Validates a parsed configuration document; relative paths resolve against `baseDir`. */
export function parseWorkerConfig(document: unknown, baseDir: string, origin = "worker config"): WorkerConfig {
  if (!validate(document)) throw new ConfigError(`${origin} is invalid:\n${describeSchemaErrors(validate.errors ?? [])}`);
  const raw = document as Partial<WorkerConfig> & Pick<WorkerConfig, "rpcUrl" | "privateKey" | "relayUrl" | "deployment" | "stateDir">;
  if ((raw.cardModel === undefined) !== (raw.vramGb === undefined)) {
    throw new ConfigError(`${origin} is invalid:\n  $.cardModel and $.vramGb: give both or neither`);
  }
  const resolve = (p: string) => path.resolve(baseDir, p);
  return {
    ...raw,
    deployment: resolve(raw.deployment),
    stateDir: resolve(raw.stateDir),
    modelsDir: resolve(raw.modelsDir ?? defaultModelsDir()),
    allowRemoteModels: raw.allowRemoteModels ?? false,
    device: raw.device ?? "cpu",
    threads: raw.threads ?? 1,
    preload: raw.preload ?? [],
    pollIntervalMs: raw.pollIntervalMs ?? 1_000,
    safetyMarginSeconds: raw.safetyMarginSeconds ?? 2,
    onShutdown: raw.onShutdown ?? "pause",
    metrics: raw.metrics && { host: raw.metrics.host ?? "127.0.0.1", port: raw.metrics.port },
    logLevel: raw.logLevel ?? "info",
    faults: raw.faults ?? {},
  };
}

export function loadWorkerConfig(file: string): WorkerConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the worker config ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`the worker config ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseWorkerConfig(document, path.dirname(path.resolve(file)), file);
}
