import path from "node:path";
import { repoRoot } from "../paths.js";
import { SupervisedProcess, waitUntilReady } from "./processes.js";

const TRIAD_CLI = path.join(repoRoot, "bin", "triad.js");

export interface RelayServiceOptions {
  host: string;
  port: number;
  dataDir: string;
  rpcUrl: string;
  deploymentFile: string;
  logFile: string;
}

/** The relay as a child process (`triad relay`), restartable on the same port and data dir. */
export class RelayService {
  readonly url: string;
  readonly logFile: string;
  #process: SupervisedProcess | undefined;

  constructor(private readonly options: RelayServiceOptions) {
    this.url = `http://${options.host}:${options.port}`;
    this.logFile = options.logFile;
  }

  async start(): Promise<void> {
    const o = this.options;
    this.#process = await SupervisedProcess.start({
      name: "relay",
      command: process.execPath,
      args: [
        TRIAD_CLI,
        "relay",
        "--data-dir",
        o.dataDir,
        "--rpc",
        o.rpcUrl,
        "--deployment",
        o.deploymentFile,
        "--port",
        String(o.port),
        "--host",
        o.host,
      ],
      cwd: repoRoot,
      logFile: o.logFile,
    });
    await waitUntilReady(`relay at ${this.url}`, async () => (await fetch(`${this.url}/healthz`)).ok, {
      timeoutMs: 60_000,
      process: this.#process,
    });
  }

  get pid(): number {
    return this.#process?.running ? this.#process.pid : 0;
  }

  async stop(): Promise<void> {
    await this.#process?.stop();
    this.#process = undefined;
  }
}
