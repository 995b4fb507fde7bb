import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import { describeSchemaErrors } from "../schema-errors.js";
import { parseEther } from "ethers";
import type { ApiKeySpec } from "./accounts.js";

/** The bridge's configuration file with defaults filled in. */
export interface BridgeConfig {
  rpcUrl: string;
  relayUrl: string;
  privateKey: string;
  /** The deployment record (deployments/<chainId>.json) whose contracts the bridge uses; absolute. */
  deployment: string;
  host: string;
  port: number;
  apiKeys: ApiKeySpec[];
  /** undefined: the task manager's minimum fee. */
  feeWei?: bigint;
  minVramGb: number;
  timeoutMs: number;
  models: string[];
  logLevel: string;
  /** SQLite file of the bridge's requests and spending (survives restarts). */
  stateFile: string;
  /** When set, prompts are counted with each model's tokenizer and checked against its context before paying. */
  modelsDir?: string;
}

const schema = JSON.parse(readFileSync(new URL("./config.schema.json", import.meta.url), "utf8"));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

export class BridgeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BridgeConfigError";
  }
}

export function parseBridgeConfig(document: unknown, baseDir: string, origin = "bridge config"): BridgeConfig {
  if (!validate(document)) {
    const problems = describeSchemaErrors(validate.errors ?? []);
    throw new BridgeConfigError(`${origin} is invalid:\n${problems}`);
  }
  const raw = document as Record<string, unknown> & {
    apiKeys: Array<{ key: string; name: string; requestsPerMinute: number; spendingCap: string }>;
  };
  const keys = raw.apiKeys.map((k) => k.key);
  const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
  if (duplicate)
    throw new BridgeConfigError(
      `${origin} is invalid:\n  $.apiKeys: the key of "${raw.apiKeys[keys.lastIndexOf(duplicate)]!.name}" is used twice`,
    );
  return {
    rpcUrl: raw.rpcUrl as string,
    relayUrl: raw.relayUrl as string,
    privateKey: raw.privateKey as string,
    deployment: path.resolve(baseDir, raw.deployment as string),
    host: (raw.host as string | undefined) ?? "127.0.0.1",
    port: (raw.port as number | undefined) ?? 8548,
    apiKeys: raw.apiKeys.map((k) => ({
      key: k.key,
      name: k.name,
      requestsPerMinute: k.requestsPerMinute,
      spendingCapWei: parseEther(k.spendingCap),
    })),
    feeWei: raw.fee === undefined ? undefined : parseEther(raw.fee as string),
    minVramGb: (raw.minVramGb as number | undefined) ?? 1,
    timeoutMs: ((raw.timeoutSeconds as number | undefined) ?? 120) * 1000,
    models: (raw.models as string[] | undefined) ?? ["stories260K"],
    logLevel: (raw.logLevel as string | undefined) ?? "info",
    stateFile: path.resolve(baseDir, (raw.stateFile as string | undefined) ?? "bridge-state.sqlite"),
    modelsDir: raw.modelsDir === undefined ? undefined : path.resolve(baseDir, raw.modelsDir as string),
  };
}

export function loadBridgeConfig(file: string): BridgeConfig {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new BridgeConfigError(`cannot read the bridge config ${file}: ${(error as Error).message}`);
  }
  return parseBridgeConfig(document, path.dirname(path.resolve(file)), file);
}
