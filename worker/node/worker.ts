import path from "node:path";
import { FetchRequest, JsonRpcProvider, formatEther } from "ethers";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { IRandomnessSource__factory } from "../../typechain-types/index.js";
import { readDeploymentFile } from "../chain/deployment.js";
import { NodeStatus } from "../chain/enums.js";
import { GptEngine, deviceInfo } from "../engine/index.js";
import { RelayClient } from "../relay/client.js";
import { chooseCardIdentity, type CardIdentity } from "./card-model.js";
import { ContractRefusal } from "../chain/revert.js";
import { ChainClient } from "./chain.js";
import type { WorkerConfig } from "./config.js";
import { TaskJournal } from "./journal.js";
import { ModelNotHeld, ModelVerifier, groupModelIndexes } from "./model-check.js";
import { WorkerMetrics, serveMetrics } from "./metrics.js";
import { TaskHandler } from "./task-handler.js";

/** Blocks re-scanned on every pass, so events of a reorganised tip are seen again (handling is idempotent). */
const REORG_DEPTH = 12;
/** How often transaction receipts are polled for (ethers' default, 4 s, would add seconds to every phase). */
const RECEIPT_POLL_MS = 250;
/** A hung RPC endpoint fails a request after this long (ethers' default is 5 minutes), so the pass is retried. */
const RPC_TIMEOUT_MS = 10_000;
/** Queued tasks an idle node examines and dispatches at once. */
const DISPATCH_SCAN = 4;
/** A node paused for models it lacks checks (and, with remote models allowed, fetches) again after this long. */
const MODEL_RETRY_MS = 30_000;
/** Longest random pause before an idle node dispatches (spreads the idle nodes so that one usually goes first). */
const DISPATCH_JITTER_MS = 300;

/**
 * A Triad node. Each pass reads the node's state and its tasks from the chain, scans new TaskStarted events
 * from a persisted cursor, and advances every task that still needs something from this node. All progress
 * lives on the chain or in the journal, so a pass may fail or the process may die at any point.
 */
export class TriadWorker {
  readonly log: pino.Logger;
  readonly metrics = new WorkerMetrics();
  #chain!: ChainClient;
  #journal!: TaskJournal;
  #engine!: GptEngine;
  #handler!: TaskHandler;
  #metricsServer: FastifyInstance | undefined;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lastDispatchBlock = -1;
  #removedLogged = false;
  #seenStarts = new Set<string>();
  #models!: ModelVerifier;
  /** The group models (indexes, comma-joined) last verified; a change pauses the node until they are held. */
  #verifiedModels: string | undefined;
  #pausedForModels = false;
  #modelsRetryAt = 0;

  constructor(private readonly config: WorkerConfig) {
    this.log = pino({ level: config.logLevel, base: { service: "triad-worker" } });
  }

  get address(): string {
    return this.#chain.address;
  }

  /** Preloads the models, connects, joins or resumes, serves metrics; then follows the chain until stop(). */
  async start(): Promise<void> {
    const c = this.config;
    const deployment = readDeploymentFile(c.deployment);
    const rpc = new FetchRequest(c.rpcUrl);
    rpc.timeout = RPC_TIMEOUT_MS;
    const provider = new JsonRpcProvider(rpc, deployment.chainId, { staticNetwork: true, pollingInterval: RECEIPT_POLL_MS });
    this.#chain = new ChainClient(provider, c.privateKey, deployment, this.log, this.metrics);
    this.#journal = new TaskJournal(c.stateDir);
    const manifestsDir = path.join(c.stateDir, "model-manifests");
    this.#models = new ModelVerifier(this.#chain.registry, c.modelsDir, c.allowRemoteModels, this.log, manifestsDir);
    this.#engine = new GptEngine({
      modelsDir: c.modelsDir,
      device: c.device,
      threads: c.threads,
      allowRemoteModels: c.allowRemoteModels,
      logger: this.log,
      pinnedModel: (model) => this.#models.pinned(model),
    });
    this.#handler = new TaskHandler({
      models: this.#models,
      chain: this.#chain,
      journal: this.#journal,
      engine: this.#engine,
      relay: new RelayClient(c.relayUrl, this.#chain.wallet, {
        domain: { chainId: BigInt(this.#chain.deployment.chainId), taskManager: this.#chain.deployment.taskManager },
      }),
      metrics: this.metrics,
      log: this.log,
      faults: c.faults,
      safetyMarginSeconds: c.safetyMarginSeconds,
      crash: () => process.exit(75),
    });
    await this.#untilChainAnswers(() => this.#chain.checkDeployment());
    await this.#register(await this.#cardIdentity());
    for (const spec of c.preload) {
      const started = performance.now();
      await this.#engine.preload(spec.model, { dtype: spec.dtype, quantize_bits: spec.quantize_bits });
      this.log.info({ model: spec.model, seconds: (performance.now() - started) / 1000 }, "model preloaded");
    }
    if (c.metrics) {
      this.#metricsServer = await serveMetrics(this.metrics, c.metrics.host, c.metrics.port);
      this.log.info({ url: `http://${c.metrics.host}:${c.metrics.port}/metrics` }, "metrics served");
    }
    this.#stopped = this.#follow();
  }

  /**
   * Graceful stop: takes the node out of selection (pause, unless onShutdown is "stay"), finishes the task it is
   * in, then quits if configured. Resolves when the worker has stopped.
   */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.log.info({ onShutdown: this.config.onShutdown }, "stopping: finishing the current task first");
      this.#wake?.();
    }
    await this.#stopped;
  }

  async #follow(): Promise<void> {
    let pendingPause = this.config.onShutdown !== "stay";
    for (;;) {
      try {
        const idle = await this.#pass();
        if (this.#stopping) {
          if (pendingPause) {
            await this.#leaveSelection();
            pendingPause = false;
            continue;
          }
          if (idle) break;
        }
      } catch (error) {
        this.metrics.chainErrors.inc();
        this.log.warn({ err: (error as Error).message }, "pass failed; retrying");
      }
      await this.#sleep(this.config.pollIntervalMs);
    }
    if (this.config.onShutdown === "quit") await this.#quit();
    await this.#metricsServer?.close();
    await this.#engine.close();
    this.#chain.destroy();
    this.log.info("worker stopped");
  }

  /** One pass over the chain; resolves whether the node owes no action to any task. */
  async #pass(): Promise<boolean> {
    const node = await this.#chain.registry.getNode(this.address);
    this.metrics.stake.set(Number(formatEther(node.stake)));
    if (node.status === NodeStatus.None && !this.#removedLogged) {
      this.#removedLogged = true;
      this.log.error("this node is no longer registered (slashed, kicked or quit); it only finishes its journal");
    }
    const taskIds = new Set(this.#journal.unfinished().map(String));
    if (node.taskId !== 0n) taskIds.add(String(node.taskId));
    for (const started of await this.#newStarts()) taskIds.add(started);

    let owes = false;
    for (const id of [...taskIds].sort((a, b) => Number(BigInt(a) - BigInt(b)))) {
      const taskId = BigInt(id);
      if (!this.#journal.get(taskId) && !(await this.#handler.owesAction(taskId)) && taskId !== node.taskId) continue;
      await this.#handler.advance(taskId);
      owes ||= await this.#handler.owesAction(taskId);
    }
    if (!this.#stopping && node.status !== NodeStatus.None) await this.#keepModelsCurrent(node.groupId, node.status);
    if (!this.#stopping && node.status === NodeStatus.Available) await this.#helpDispatch();
    return !owes && node.taskId === 0n;
  }

  /** TaskStarted events naming this node since the cursor (re-reading the last blocks for reorgs). */
  async #newStarts(): Promise<string[]> {
    const tm = this.#chain.taskManager;
    const head = await this.#chain.provider.getBlockNumber();
    const cursor = this.#journal.cursor() ?? this.#chain.deployment.blockNumber;
    // min(): after a reorg to a shorter chain the cursor may be past the head.
    const from = Math.max(this.#chain.deployment.blockNumber, Math.min(cursor, head) - REORG_DEPTH);
    if (head < from) return [];
    const events = await tm.queryFilter(tm.filters.TaskStarted(), from, head);
    await this.#journal.saveCursor(head);
    const mine = events.filter((e) => e.args.nodes.some((n: string) => n.toLowerCase() === this.address.toLowerCase()));
    const fresh = mine.map((e) => String(e.args.taskId)).filter((id) => !this.#seenStarts.has(id));
    for (const id of fresh) {
      this.#seenStarts.add(id);
      this.log.info({ taskId: id }, "selected for a task");
    }
    return fresh;
  }

  /**
   * Calls dispatch() when a queued task's randomness is ready, so the queue moves without a keeper. At most once per
   * block per worker, after a random pause so that usually one idle node sends it and the others see it done.
   */
  async #helpDispatch(): Promise<void> {
    const block = await this.#chain.provider.getBlockNumber();
    if (block <= this.#lastDispatchBlock || !(await this.#queueHasReadyTask())) return;
    await this.#sleep(Math.random() * DISPATCH_JITTER_MS);
    if (this.#stopping || !(await this.#queueHasReadyTask())) return;
    this.#lastDispatchBlock = await this.#chain.provider.getBlockNumber();
    const tm = this.#chain.taskManager;
    try {
      await this.#chain.execute("dispatch", {
        simulate: () => tm.dispatch.staticCall(DISPATCH_SCAN),
        send: () => tm.dispatch(DISPATCH_SCAN),
      });
    } catch (error) {
      if (!(error instanceof ContractRefusal)) throw error;
    }
  }

  async #queueHasReadyTask(): Promise<boolean> {
    const tm = this.#chain.taskManager;
    const queued = (await tm.queuedTaskIds()).slice(0, DISPATCH_SCAN);
    if (queued.length === 0) return false;
    // A push source (VRF) draws in its own fulfilment: dispatch only requests a fresh word after a discarded one,
    // and only once a group can serve the task (otherwise the transaction would do nothing, block after block).
    if (await tm.pushRandomness()) {
      for (const taskId of queued) {
        if ((await tm.requestIdOf(taskId)) !== 0n) continue;
        const task = await tm.getTask(taskId);
        if (await this.#chain.registry.canDraw(task.model, task.minVramGb)) return true;
      }
      return false;
    }
    const source = IRandomnessSource__factory.connect(await tm.randomnessSource(), this.#chain.provider);
    for (const taskId of queued) {
      // "pending": as the next block will see it, the one the dispatch transaction lands in.
      if (await source.isReady(await tm.requestIdOf(taskId), { blockTag: "pending" })) return true;
    }
    return false;
  }

  async #cardIdentity(): Promise<CardIdentity> {
    const configured = this.config.cardModel !== undefined ? { cardModel: this.config.cardModel, vramGb: this.config.vramGb! } : undefined;
    const choice = chooseCardIdentity(configured, await deviceInfo(this.config.device));
    if (choice.warning) this.log.warn(choice.warning);
    this.log.info({ ...choice.identity, source: choice.source, device: this.config.device }, "card identity");
    return choice.identity;
  }

  /** Joins with the stake, or resumes a paused node; a node already registered keeps its card model. */
  async #register(card: CardIdentity): Promise<void> {
    const { registry, token } = this.#chain;
    const node = await registry.getNode(this.address);
    if (node.status === NodeStatus.None) {
      const stake = await registry.stakeAmount();
      const balance = await token.balanceOf(this.address);
      if (balance < stake) {
        throw new Error(`account ${this.address} holds ${formatEther(balance)} TRIAD; joining needs a stake of ${formatEther(stake)}`);
      }
      if ((await token.allowance(this.address, registry.target)) < stake) {
        await this.#chain.execute("approve", {
          simulate: () => token.approve.staticCall(registry.target, stake),
          send: () => token.approve(registry.target, stake),
        });
      }
      const groupId = await this.#groupOf(card);
      await this.#verifyModels(groupId, "not joining");
      await this.#chain.execute("join", {
        simulate: () => registry.join.staticCall(groupId),
        send: () => registry.join(groupId),
      });
      this.log.info({ ...card, groupId: String(groupId), stake: formatEther(stake) }, "joined the network");
      return;
    }
    if (node.cardModel !== card.cardModel || Number(node.vramGb) !== card.vramGb) {
      this.log.warn(
        { registered: { cardModel: node.cardModel, vramGb: Number(node.vramGb) }, card },
        "registered with another card; quit and rejoin to change it",
      );
    }
    try {
      await this.#verifyModels(node.groupId, "staying paused");
    } catch (error) {
      if (node.status === NodeStatus.Available || node.status === NodeStatus.Busy) await this.#leaveSelection();
      throw error;
    }
    if (node.status === NodeStatus.Paused || node.status === NodeStatus.PendingPause) {
      await this.#chain.execute("resume", { simulate: () => registry.resume.staticCall(), send: () => registry.resume() });
      this.log.info("resumed");
    } else if (node.status === NodeStatus.PendingQuit) {
      this.log.warn("this node is quitting: it finishes its current task and leaves");
    } else {
      this.log.info({ status: Number(node.status), taskId: String(node.taskId) }, "already registered");
    }
  }

  /**
   * Verifies (fetching when allowed) every model the group enables or will enable. A node never joins or resumes
   * in a group whose models it lacks: it could be drawn into a task it cannot run.
   */
  async #verifyModels(groupId: bigint, consequence: string): Promise<void> {
    try {
      const models = await this.#models.verifyGroup(groupId);
      this.#verifiedModels = models.map((m) => String(m.index)).join(",");
    } catch (error) {
      if (!(error instanceof ModelNotHeld)) throw error;
      this.log.error({ model: error.model, file: error.file, groupId: String(groupId) }, `${error.message}; ${consequence}`);
      throw new Error(`${error.message}: this node lacks a model its group ${groupId} enables; ${consequence}`, { cause: error });
    }
  }

  /**
   * Governance enabled (or disabled) models on the group: an available node pauses, fetches and verifies the new
   * models, and resumes only once it holds them all (a model enabled on a group with nodes becomes drawable only
   * after MODEL_ACTIVATION_DELAY, time for this).
   */
  async #keepModelsCurrent(groupId: bigint, status: bigint): Promise<void> {
    const indexes = (await groupModelIndexes(this.#chain.registry, groupId)).map(String);
    const current = indexes.join(",");
    if (current === this.#verifiedModels) return;
    const verified = new Set(this.#verifiedModels?.split(","));
    if (!this.#pausedForModels && indexes.every((i) => verified.has(i))) {
      this.#verifiedModels = current; // models were only disabled: nothing new to hold
      return;
    }
    if (Date.now() < this.#modelsRetryAt) return;
    this.#modelsRetryAt = Date.now() + MODEL_RETRY_MS;
    const registry = this.#chain.registry;
    if (status === NodeStatus.Available || status === NodeStatus.Busy) {
      this.log.info({ groupId: String(groupId), models: current }, "the group's models changed: pausing to verify them");
      await this.#chain.execute("pause", { simulate: () => registry.pause.staticCall(), send: () => registry.pause() });
      this.#pausedForModels = true;
    }
    try {
      await this.#verifyModels(groupId, "staying paused");
    } catch {
      return; // logged; retried next pass
    }
    const after = (await registry.getNode(this.address)).status;
    // Only a pause of this check is undone: a node its operator paused stays paused.
    if (this.#pausedForModels && (after === NodeStatus.Paused || after === NodeStatus.PendingPause)) {
      this.#pausedForModels = false;
      await this.#chain.execute("resume", { simulate: () => registry.resume.staticCall(), send: () => registry.resume() });
      this.log.info("resumed with the group's models verified");
    }
  }

  /** The governed group of this card; governance must have added it (`npx hardhat triad group add`). */
  async #groupOf(card: CardIdentity): Promise<bigint> {
    const registry = this.#chain.registry;
    const count = await registry.groupCount();
    for (let id = 0n; id < count; id++) {
      const group = await registry.groupAt(id);
      if (group.cardModel === card.cardModel && Number(group.vramGb) === card.vramGb && !group.retired) return id;
    }
    throw new Error(
      `no active card group "${card.cardModel}" / ${card.vramGb} GB on this network: groups are created by governance ` +
        `(npx hardhat triad group add --card "${card.cardModel}" --vram ${card.vramGb})`,
    );
  }

  /** Pause (an idle node leaves selection now, a busy one after its task). */
  async #leaveSelection(): Promise<void> {
    const registry = this.#chain.registry;
    const status = (await registry.getNode(this.address)).status;
    if (status !== NodeStatus.Available && status !== NodeStatus.Busy) return;
    await this.#chain.execute("pause", { simulate: () => registry.pause.staticCall(), send: () => registry.pause() });
  }

  async #quit(): Promise<void> {
    const registry = this.#chain.registry;
    try {
      const status = (await registry.getNode(this.address)).status;
      if (status === NodeStatus.None || status === NodeStatus.PendingQuit) return;
      await this.#chain.execute("quit", { simulate: () => registry.quit.staticCall(), send: () => registry.quit() });
      this.log.info("quit: stake returned");
    } catch (error) {
      this.log.error({ err: (error as Error).message }, "quit failed; run `npx hardhat triad node quit` to get the stake back");
    }
  }

  async #untilChainAnswers(check: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await check();
      } catch (error) {
        if (this.#stopping || attempt >= 30 || !isConnectionError(error)) throw error;
        this.log.warn({ err: (error as Error).message, attempt }, "chain not reachable yet; retrying");
        await this.#sleep(1_000);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function isConnectionError(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /ECONNREFUSED|ECONNRESET|fetch failed|socket hang up|timeout|NETWORK_ERROR/i.test(text);
}
