import path from "node:path";
import type { Provider } from "ethers";
import { pino, type Logger } from "pino";
import { buildRelayApp } from "./app.js";
import { contractTaskView, rpcTaskView, type TaskView } from "./chain.js";
import { NonceStore } from "./nonce-store.js";
import { ObjectStore } from "./object-store.js";
import { PendingArgs } from "./pending-args.js";
import { TIMESTAMP_WINDOW_SECONDS } from "./protocol.js";
import { TaskIndex } from "./task-index.js";

interface CommonRelayOptions {
  port: number;
  host?: string;
  /** Holds objects/, tasks/ and nonces.json; everything the relay knows survives a restart. */
  dataDir: string;
  logger?: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** How long arguments uploaded before their task exists are kept unclaimed (default 3600 s). */
  pendingArgsTtlSeconds?: number;
  /** Bytes of unclaimed argument uploads held at once, all accounts together (default 512 MiB). */
  pendingArgsMaxBytes?: number;
  /** Longest time to receive a request and answer it (default 120 s); past it the connection is closed. */
  requestTimeoutMs?: number;
}

/** Reads the chain through `rpcUrl` (production), or through an ethers `provider` (tests, in-process network). */
export type StartRelayOptions = CommonRelayOptions &
  ({ rpcUrl: string; taskManager: string } | { provider: Provider; taskManager: string } | { taskView: TaskView });

export interface RunningRelay {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  close(): Promise<void>;
}

export async function startRelay(options: StartRelayOptions): Promise<RunningRelay> {
  const logger = options.logger ?? pino({ name: "triad-relay" });
  const chain = chainAccess(options);
  const app = buildRelayApp({
    chain: chain.view,
    objects: await ObjectStore.open(path.join(options.dataDir, "objects")),
    tasks: await TaskIndex.open(path.join(options.dataDir, "tasks")),
    nonces: await NonceStore.open(path.join(options.dataDir, "nonces.json"), TIMESTAMP_WINDOW_SECONDS),
    pending: await PendingArgs.open(path.join(options.dataDir, "pending"), {
      ttlSeconds: options.pendingArgsTtlSeconds,
      maxTotalBytes: options.pendingArgsMaxBytes,
    }),
    logger,
    now: options.now,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  const host = options.host ?? "127.0.0.1";
  try {
    await app.listen({ port: options.port, host });
  } catch (error) {
    chain.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info({ url, dataDir: options.dataDir }, "relay listening");
  return {
    url,
    async close() {
      await app.close();
      chain.close();
    },
  };
}

function chainAccess(options: StartRelayOptions): { view: TaskView; close(): void } {
  if ("taskView" in options) return { view: options.taskView, close: () => undefined };
  if ("provider" in options) return { view: contractTaskView(options.provider, options.taskManager), close: () => undefined };
  return rpcTaskView(options.rpcUrl, options.taskManager);
}
