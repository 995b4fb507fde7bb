import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider, NonceManager, parseEther } from "ethers";
import { deployTriad } from "../../deploy/triad.js";
import { DEVNET_MODELS, registerDevnetModels, writeFixtureModelsDir } from "./models.js";
import { saveDeployment, type TriadDeployment, type TriadParams } from "../chain/deployment.js";
import { ChainWallet } from "../chain/wallet.js";
import { NodeRegistry__factory, TriadToken__factory } from "../../typechain-types/index.js";
import { defaultModelsDir } from "../paths.js";
import { HARDHAT_DEV_ACCOUNT_COUNT, devAccount, type DevAccount } from "./accounts.js";
import { startAnvilNode } from "./anvil-node.js";
import { startBlockNudger, startVrfFulfiller, type BlockNudger } from "./block-nudger.js";
import { setBlockTime, startHardhatNode } from "./hardhat-node.js";

export type ChainKind = "hardhat" | "anvil";
const CHAIN_KINDS: readonly ChainKind[] = ["hardhat", "anvil"];

/** The EVM node a devnet runs when not told: `$TRIAD_DEVNET_CHAIN` (CI runs the end-to-end suite on both), else hardhat. */
export function defaultChainKind(): ChainKind {
  const kind = process.env.TRIAD_DEVNET_CHAIN ?? "hardhat";
  if (!CHAIN_KINDS.includes(kind as ChainKind))
    throw new Error(`TRIAD_DEVNET_CHAIN must be one of ${CHAIN_KINDS.join(", ")} (got "${kind}")`);
  return kind as ChainKind;
}
import {
  manifestPath,
  readManifest,
  removeManifest,
  writeManifest,
  type DevnetManifest,
  type ManifestAccount,
  type ManifestWorker,
} from "./manifest.js";
import { freePort } from "./ports.js";
import type { ExitInfo, SupervisedProcess } from "./processes.js";
import { BridgeService } from "./bridge-service.js";
import { RelayService } from "./relay-service.js";
import { ShutdownStack } from "./shutdown-stack.js";
import { WorkerFleet } from "./worker-fleet.js";
import type { WorkerFaults } from "../node/config.js";
import { DEFAULT_CARD_GROUPS, DEFAULT_WORKER_GROUPS, checkWorkerGroup, type WorkerGroupSpec } from "./worker-group.js";
import { ensureCardGroup, type CardGroup } from "./card-groups.js";

export interface DevnetOptions {
  /** Holds the manifest, deployment, relay data, worker state and logs; wiped at start (the chain is new). */
  stateDir: string;
  /** Where the models are (default: defaultModelsDir()); only read, never written. */
  modelsDir?: string;
  /**
   * Also serve the random-weight family fixtures (worker/engine/fixtures/family-fixtures.ts FAMILIES): written into
   * `<stateDir>/models` beside a symlink to each model of `modelsDir`, registered on chain and enabled on every
   * group; the workers and the bridge read that folder. Default false.
   */
  familyFixtures?: boolean;
  /** Loopback address every service binds to. */
  host?: string;
  /** 0 (default): a free port. */
  rpcPort?: number;
  relayPort?: number;
  bridgePort?: number;
  /** 0 (default): automine. N: a block every N seconds. */
  blockTimeSeconds?: number;
  /** The EVM node: `hardhat node` or anvil, an independent implementation; default: defaultChainKind(). */
  chain?: ChainKind;
  /** Workers to start (default: DEFAULT_WORKER_GROUPS); governance adds each group's card if missing. */
  groups?: WorkerGroupSpec[];
  /**
   * Card groups governance adds at start, before any worker joins (default: DEFAULT_CARD_GROUPS), so tasks
   * can be created and queued for them even while no worker runs.
   */
  cardGroups?: CardGroup[];
  /** ONNX Runtime threads per worker. */
  workerThreads?: number;
  workerPollIntervalMs?: number;
  /** Selection randomness: "vrf" (default; Chainlink's VRF v2.5 coordinator mock, fulfilled by the devnet) or "blockhash". */
  randomness?: "vrf" | "blockhash";
  /** Contract parameters (see deploy/triad.ts). */
  params?: Partial<TriadParams>;
  /** Token wei minted to the client account. */
  clientTokens?: bigint;
  onProgress?: (message: string) => void;
  /** A worker process ended without being asked to (a crash, or a fault switch such as exitAfterCommit). */
  onWorkerExit?: (name: string, exit: ExitInfo) => void;
}

export interface Devnet {
  manifest: DevnetManifest;
  deployment: TriadDeployment;
  provider: JsonRpcProvider;
  /** Starts another group of workers (funded, joined, ready) and records them in the manifest. */
  addWorkers(group: WorkerGroupSpec): Promise<ManifestWorker[]>;
  /** The live process of a worker (undefined once it exited or was stopped). */
  workerProcess(name: string): SupervisedProcess | undefined;
  /** Starts a worker again with the same key and state dir; `faults` replaces its fault switches. */
  restartWorker(name: string, options?: { faults?: WorkerFaults }): Promise<void>;
  stopWorker(name: string): Promise<void>;
  /** Stops the relay and starts it again on the same port and data dir. */
  restartRelay(): Promise<void>;
  /** A relay outage: stops the relay; `startRelay` brings it back on the same port and data dir. */
  stopRelay(): Promise<void>;
  startRelay(): Promise<void>;
  /** A bridge crash: SIGKILL; `startBridge` brings it back on the same port and state file. */
  killBridge(): Promise<void>;
  startBridge(): Promise<void>;
  /** Workers first, then the relay, then the chain; removes the manifest. */
  stop(): Promise<void>;
}

const DEPLOYER_INDEX = 0;
const CLIENT_INDEX = 1;
const FIRST_WORKER_INDEX = 2;
/** The bridge's fee wallet: the last dev account, so workers (from #2 up) never collide with it. */
const BRIDGE_INDEX = HARDHAT_DEV_ACCOUNT_COUNT - 1;
/**
 * Sends the VRF mock's fulfilments. Its own account, without a nonce cache: after a reorganisation (evm_revert)
 * the deployer's NonceManager would be ahead of the chain and every fulfilment would be refused.
 */
const VRF_FULFILLER_INDEX = HARDHAT_DEV_ACCOUNT_COUNT - 2;
/** The devnet bridge's API key. Like the dev keys, public: for this local devnet only. */
export const DEVNET_API_KEY = "sk-triad-devnet-0000000000000000";
const LOOPBACK = "127.0.0.1";

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const stateDir = path.resolve(options.stateDir);
  const host = options.host ?? LOOPBACK;
  const sourceModelsDir = path.resolve(options.modelsDir ?? defaultModelsDir());
  const blockTimeSeconds = options.blockTimeSeconds ?? 0;
  const groups = options.groups ?? DEFAULT_WORKER_GROUPS;
  groups.forEach(checkWorkerGroup);
  const progress = options.onProgress ?? (() => undefined);
  if (!existsSync(sourceModelsDir)) {
    throw new Error(`models dir ${sourceModelsDir} does not exist (set --models-dir or TRIAD_MODELS_DIR)`);
  }
  prepareStateDir(stateDir);
  if (options.familyFixtures) progress("writing the model-family fixtures");
  const modelsDir = options.familyFixtures ? await writeFixtureModelsDir(sourceModelsDir, path.join(stateDir, "models")) : sourceModelsDir;
  const logsDir = path.join(stateDir, "logs");

  const stack = new ShutdownStack();
  try {
    const chain = options.chain ?? defaultChainKind();
    progress(`starting the chain (${chain})`);
    const node = await (chain === "anvil" ? startAnvilNode : startHardhatNode)({
      host,
      port: options.rpcPort || (await freePort(host)),
      logFile: path.join(logsDir, `${chain}-node.log`),
    });
    stack.push(node.stop);
    const provider = new JsonRpcProvider(node.rpcUrl, node.chainId, { staticNetwork: true, pollingInterval: 250 });
    stack.push(async () => provider.destroy());

    progress("deploying the contracts");
    const deployerKey = devAccount(DEPLOYER_INDEX);
    const deployer = new NonceManager(new ChainWallet(deployerKey.privateKey, provider));
    const deployment = await deployTriad(deployer, options.params, (options.randomness ?? "vrf") === "vrf" ? "vrf-mock" : "blockhash");
    const deploymentFile = saveDeployment(deployment, path.join(stateDir, "deployments"));
    const registry = NodeRegistry__factory.connect(deployment.nodeRegistry, deployer);
    const models = await registerDevnetModels(registry, modelsDir, { familyFixtures: options.familyFixtures });
    for (const model of models) progress(`registered model ${model.id} (revision ${model.revision}, files digest ${model.digest})`);
    const token = TriadToken__factory.connect(deployment.token, deployer);
    const clientKey = devAccount(CLIENT_INDEX);
    await (await token.mint(clientKey.address, options.clientTokens ?? parseEther("10000"))).wait();
    const bridgeKey = devAccount(BRIDGE_INDEX);
    await (await token.mint(bridgeKey.address, parseEther("10000"))).wait();
    for (const group of options.cardGroups ?? DEFAULT_CARD_GROUPS) await ensureCardGroup(deployment.nodeRegistry, deployer, group);

    if (blockTimeSeconds > 0) await setBlockTime(provider, blockTimeSeconds);
    const nudger: BlockNudger | undefined = blockTimeSeconds === 0 ? startBlockNudger(provider, deployment.taskManager, 250) : undefined;
    if (nudger) stack.push(nudger.stop);
    if (deployment.vrfCoordinator) {
      const oracle = new ChainWallet(devAccount(VRF_FULFILLER_INDEX).privateKey, provider);
      const fulfiller = startVrfFulfiller(oracle, deployment.vrfCoordinator, deployment.randomness, {
        fromBlock: deployment.blockNumber,
        intervalMs: 250,
      });
      stack.push(fulfiller.stop);
    }

    progress("starting the relay");
    const relay = new RelayService({
      host,
      port: options.relayPort || (await freePort(host)),
      dataDir: path.join(stateDir, "relay"),
      rpcUrl: node.rpcUrl,
      deploymentFile,
      logFile: path.join(logsDir, "relay.log"),
    });
    await relay.start();
    stack.push(() => relay.stop());

    progress("starting the bridge");
    const bridge = new BridgeService({
      host,
      port: options.bridgePort || (await freePort(host)),
      rpcUrl: node.rpcUrl,
      relayUrl: relay.url,
      deploymentFile,
      privateKey: bridgeKey.privateKey,
      apiKey: DEVNET_API_KEY,
      modelsDir,
      models: [...new Set([...DEVNET_MODELS.map((m) => m.id), ...models.map((m) => m.id)])],
      configFile: path.join(stateDir, "bridge", "config.json"),
      logFile: path.join(logsDir, "bridge.log"),
    });
    await bridge.start();
    stack.push(() => bridge.stop());

    const manifest: DevnetManifest = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      stateDir,
      chainId: node.chainId,
      chain,
      rpcUrl: node.rpcUrl,
      blockTimeSeconds,
      relayUrl: relay.url,
      bridge: { url: bridge.url, apiKey: DEVNET_API_KEY, chatPage: `${bridge.url}/#key=${DEVNET_API_KEY}`, payer: bridgeKey.address },
      deploymentFile,
      contracts: {
        token: deployment.token,
        nodeRegistry: deployment.nodeRegistry,
        taskManager: deployment.taskManager,
        randomness: deployment.randomness,
      },
      modelsDir,
      models,
      clientAccount: manifestAccount(clientKey, "client"),
      accounts: [],
      workers: [],
      logs: { node: node.process.logFile, relay: relay.logFile, bridge: bridge.logFile },
      pids: { node: node.process.pid, relay: relay.pid, bridge: bridge.pid },
      devOnly: "The private keys below are Hardhat's publicly known dev keys: never use them on a real network.",
    };
    const workers = new WorkerFleet({
      stateDir,
      logsDir,
      host,
      modelsDir,
      rpcUrl: node.rpcUrl,
      relayUrl: relay.url,
      deploymentFile,
      deployment,
      provider,
      deployer,
      threads: options.workerThreads ?? 1,
      pollIntervalMs: options.workerPollIntervalMs ?? 500,
      onUnexpectedExit: options.onWorkerExit ?? (() => undefined),
      firstAccountIndex: FIRST_WORKER_INDEX,
      accountLimit: VRF_FULFILLER_INDEX,
    });
    // Registered before any worker starts, so the stack stops workers first.
    stack.push(() => workers.stopAll());

    const save = async () => {
      manifest.workers = workers.manifestEntries();
      manifest.pids.relay = relay.pid;
      manifest.accounts = accountTable(manifest.workers);
      await writeManifest(manifest);
    };
    for (const group of groups) {
      progress(`starting ${group.count} workers of "${group.cardModel}" (${group.vramGb} GB)`);
      await workers.addGroup(group);
    }
    await save();
    stack.push(async () => removeManifest(stateDir));

    return {
      manifest,
      deployment,
      provider,
      async addWorkers(group) {
        checkWorkerGroup(group);
        const added = await workers.addGroup(group);
        await save();
        return added;
      },
      workerProcess: (name) => workers.process(name),
      async restartWorker(name, restartOptions) {
        await workers.restart(name, restartOptions?.faults);
        await save();
      },
      async stopWorker(name) {
        await workers.stop(name);
        await save();
      },
      async restartRelay() {
        await relay.stop();
        await relay.start();
        await save();
      },
      stopRelay: () => relay.stop(),
      async startRelay() {
        await relay.start();
        await save();
      },
      killBridge: () => bridge.kill(),
      async startBridge() {
        await bridge.start();
        manifest.pids.bridge = bridge.pid;
        await save();
      },
      stop: () => stack.unwind(),
    };
  } catch (error) {
    await stack.unwind();
    throw error;
  }
}

/** Refuses to wipe the state of a devnet that is still running; otherwise starts from an empty directory. */
function prepareStateDir(stateDir: string): void {
  if (existsSync(manifestPath(stateDir))) {
    const previous = readManifest(stateDir);
    if (isAlive(previous.pid)) {
      throw new Error(`a devnet (pid ${previous.pid}) is already running with state dir ${stateDir}; stop it first`);
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function manifestAccount(account: DevAccount, role: ManifestAccount["role"]): ManifestAccount {
  return { role, index: account.index, address: account.address, privateKey: account.privateKey };
}

function accountTable(workers: ManifestWorker[]): ManifestAccount[] {
  const workerAddresses = new Set(workers.map((w) => w.address));
  return Array.from({ length: HARDHAT_DEV_ACCOUNT_COUNT }, (_, index) => {
    const account = devAccount(index);
    const role =
      index === DEPLOYER_INDEX
        ? "deployer (token minter)"
        : index === CLIENT_INDEX
          ? "client"
          : index === BRIDGE_INDEX
            ? "bridge (fee wallet)"
            : index === VRF_FULFILLER_INDEX
              ? "vrf fulfiller"
              : workerAddresses.has(account.address)
                ? "worker"
                : "spare";
    return manifestAccount(account, role);
  });
}
