import { mkdirSync } from "node:fs";
import path from "node:path";
import type { JsonRpcProvider, NonceManager } from "ethers";
import writeFileAtomic from "write-file-atomic";
import type { TriadDeployment } from "../chain/deployment.js";
import { NodeStatus } from "../chain/enums.js";
import { NodeRegistry__factory } from "../../typechain-types/index.js";
import { TriadToken__factory } from "../../typechain-types/index.js";
import { repoRoot } from "../paths.js";
import { devAccount } from "./accounts.js";
import type { ManifestWorker } from "./manifest.js";
import { freePort } from "./ports.js";
import { SupervisedProcess, waitUntilReady, type ExitInfo } from "./processes.js";
import type { WorkerFaults } from "../node/config.js";
import { enableAllModels } from "./models.js";
import { workerName, type WorkerGroupSpec } from "./worker-group.js";

const TRIAD_CLI = path.join(repoRoot, "bin", "triad.js");

export interface WorkerFleetOptions {
  stateDir: string;
  logsDir: string;
  host: string;
  modelsDir: string;
  rpcUrl: string;
  relayUrl: string;
  deploymentFile: string;
  deployment: TriadDeployment;
  provider: JsonRpcProvider;
  deployer: NonceManager;
  threads: number;
  pollIntervalMs: number;
  onUnexpectedExit: (name: string, exit: ExitInfo) => void;
  /** Workers get dev accounts from this index on... */
  firstAccountIndex: number;
  /** ...up to, not including, this one. */
  accountLimit: number;
}

interface FleetWorker {
  entry: ManifestWorker;
  privateKey: string;
  process: SupervisedProcess | undefined;
  stopRequested: boolean;
}

/** Funds, configures, starts and stops the worker processes; each gets the next unused dev account. */
export class WorkerFleet {
  #workers = new Map<string, FleetWorker>();
  #nextAccount: number;

  constructor(private readonly options: WorkerFleetOptions) {
    this.#nextAccount = options.firstAccountIndex;
  }

  manifestEntries(): ManifestWorker[] {
    return [...this.#workers.values()].map((w) => ({ ...w.entry, pid: w.process?.running ? w.process.pid : 0 }));
  }

  process(name: string): SupervisedProcess | undefined {
    const p = this.#get(name).process;
    return p?.running ? p : undefined;
  }

  async addGroup(group: WorkerGroupSpec): Promise<ManifestWorker[]> {
    const free = this.options.accountLimit - this.#nextAccount;
    if (group.count > free) throw new Error(`only ${free} dev accounts are left for workers; asked for ${group.count}`);
    const created: FleetWorker[] = [];
    for (let i = 0; i < group.count; i++) {
      const account = devAccount(this.#nextAccount++);
      const name = workerName(group.cardModel, this.#workers.size + 1);
      const faults = group.faults?.[i];
      const entry: ManifestWorker = {
        name,
        pid: 0,
        address: account.address,
        cardModel: group.cardModel,
        vramGb: group.vramGb,
        metricsUrl: `http://${this.options.host}:${await freePort(this.options.host)}/metrics`,
        configFile: path.join(this.options.stateDir, "workers", name, "config.json"),
        logFile: path.join(this.options.logsDir, `${name}.log`),
        ...(faults ? { faults: { ...faults } } : {}),
      };
      const worker: FleetWorker = { entry, privateKey: account.privateKey, process: undefined, stopRequested: false };
      this.#workers.set(name, worker);
      created.push(worker);
    }
    await this.#ensureCardGroup(group.cardModel, group.vramGb);
    await this.#fundStake(created.map((w) => w.entry.address));
    await Promise.all(created.map((w) => this.#start(w)));
    return created.map((w) => w.entry);
  }

  async restart(name: string, faults: WorkerFaults | undefined): Promise<void> {
    const worker = this.#get(name);
    if (worker.process?.running) {
      worker.stopRequested = true;
      await worker.process.stop();
    }
    if (faults !== undefined) {
      if (Object.keys(faults).length === 0) delete worker.entry.faults;
      else worker.entry.faults = { ...faults };
    }
    await this.#start(worker);
  }

  async stop(name: string): Promise<void> {
    const worker = this.#get(name);
    worker.stopRequested = true;
    await worker.process?.stop(30_000);
    worker.process = undefined;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#workers.keys()].map((name) => this.stop(name)));
  }

  #get(name: string): FleetWorker {
    const worker = this.#workers.get(name);
    if (!worker) throw new Error(`no devnet worker named "${name}" (have: ${[...this.#workers.keys()].join(", ")})`);
    return worker;
  }

  /** Mints each new worker its stake; dev accounts already hold ETH for gas. */
  /** On the devnet the deployer is governance: it adds the workers' card group, serving every model, unless it exists. */
  async #ensureCardGroup(cardModel: string, vramGb: number): Promise<void> {
    const registry = NodeRegistry__factory.connect(this.options.deployment.nodeRegistry, this.options.deployer);
    const count = await registry.groupCount();
    for (let id = 0n; id < count; id++) {
      const group = await registry.groupAt(id);
      if (group.cardModel === cardModel && Number(group.vramGb) === vramGb && !group.retired) return;
    }
    await (await registry.addGroup(cardModel, vramGb)).wait();
    await enableAllModels(registry, count);
  }

  async #fundStake(addresses: string[]): Promise<void> {
    const token = TriadToken__factory.connect(this.options.deployment.token, this.options.deployer);
    const stake = this.options.deployment.params.stakeAmount;
    const sent = [];
    for (const address of addresses) sent.push(await token.mint(address, stake));
    await Promise.all(sent.map((tx) => tx.wait()));
  }

  async #start(worker: FleetWorker): Promise<void> {
    const o = this.options;
    const { entry } = worker;
    const config = {
      rpcUrl: o.rpcUrl,
      privateKey: worker.privateKey,
      relayUrl: o.relayUrl,
      deployment: o.deploymentFile,
      stateDir: path.join(o.stateDir, "workers", entry.name, "state"),
      cardModel: entry.cardModel,
      vramGb: entry.vramGb,
      modelsDir: o.modelsDir,
      device: "cpu",
      threads: o.threads,
      preload: [{ model: "stories260K" }],
      pollIntervalMs: o.pollIntervalMs,
      metrics: { host: o.host, port: Number(new URL(entry.metricsUrl).port) },
      ...(entry.faults ? { faults: entry.faults } : {}),
    };
    mkdirSync(path.dirname(entry.configFile), { recursive: true });
    await writeFileAtomic(entry.configFile, JSON.stringify(config, null, 2) + "\n");
    const child = await SupervisedProcess.start({
      name: entry.name,
      command: process.execPath,
      args: [TRIAD_CLI, "worker", "--config", entry.configFile],
      cwd: repoRoot,
      logFile: entry.logFile,
    });
    worker.process = child;
    worker.stopRequested = false;
    void child.exited.then((exit) => {
      if (worker.process === child && !worker.stopRequested) o.onUnexpectedExit(entry.name, exit);
    });
    const registry = NodeRegistry__factory.connect(o.deployment.nodeRegistry, o.provider);
    await waitUntilReady(
      `worker ${entry.name}`,
      async () => (await registry.getNode(entry.address)).status !== NodeStatus.None && (await fetch(entry.metricsUrl)).ok,
      { timeoutMs: 240_000, intervalMs: 500, process: worker.process },
    );
  }
}
