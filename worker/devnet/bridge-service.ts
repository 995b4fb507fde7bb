import { mkdirSync } from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { repoRoot } from "../paths.js";
import { SupervisedProcess, waitUntilReady } from "./processes.js";

const TRIAD_CLI = path.join(repoRoot, "bin", "triad.js");

export interface BridgeServiceOptions {
  host: string;
  port: number;
  rpcUrl: string;
  relayUrl: string;
  deploymentFile: string;
  /** The fee wallet's key (a funded dev account). */
  privateKey: string;
  apiKey: string;
  /** Lets the bridge measure prompts against each model's context before paying. */
  modelsDir: string;
  /** The model ids the bridge serves (GET /v1/models lists those registered on chain). */
  models: string[];
  configFile: string;
  logFile: string;
}

/** The OpenAI-compatible bridge as a child process (`triad bridge`), with one API key for the devnet's users. */
export class BridgeService {
  readonly url: string;
  readonly logFile: string;
  #process: SupervisedProcess | undefined;

  constructor(private readonly options: BridgeServiceOptions) {
    this.url = `http://${options.host}:${options.port}`;
    this.logFile = options.logFile;
  }

  async start(): Promise<void> {
    const o = this.options;
    const config = {
      rpcUrl: o.rpcUrl,
      relayUrl: o.relayUrl,
      privateKey: o.privateKey,
      deployment: o.deploymentFile,
      host: o.host,
      port: o.port,
      apiKeys: [{ key: o.apiKey, name: "devnet", requestsPerMinute: 600, spendingCap: "10000" }],
      timeoutSeconds: 180,
      models: o.models,
      modelsDir: o.modelsDir,
      // Beside the config, in the devnet's state dir: requests and spending survive a bridge restart.
      stateFile: path.join(path.dirname(o.configFile), "bridge-state.sqlite"),
    };
    mkdirSync(path.dirname(o.configFile), { recursive: true });
    await writeFileAtomic(o.configFile, JSON.stringify(config, null, 2) + "\n");
    this.#process = await SupervisedProcess.start({
      name: "bridge",
      command: process.execPath,
      args: [TRIAD_CLI, "bridge", "--config", o.configFile],
      cwd: repoRoot,
      logFile: o.logFile,
    });
    await waitUntilReady(`bridge at ${this.url}`, async () => (await fetch(`${this.url}/healthz`)).ok, {
      timeoutMs: 60_000,
      process: this.#process,
    });
  }

  get pid(): number {
    return this.#process?.running ? this.#process.pid : 0;
  }

  /** SIGKILL (a crash, for reliability tests); `start()` brings it back on the same port and state file. */
  async kill(): Promise<void> {
    await this.#process?.kill();
    this.#process = undefined;
  }

  async stop(): Promise<void> {
    await this.#process?.stop();
    this.#process = undefined;
  }
}
