import type { FastifyInstance } from "fastify";
import pino from "pino";
import { connectClient, type ClientConnection } from "../client/connection.js";
import { NetworkIndexer } from "../explorer/indexer.js";
import { ApiAccounts } from "./accounts.js";
import { buildBridgeApp, recoverOpenRequests } from "./app.js";
import { Preflight } from "./preflight.js";
import { BridgeStore } from "./store.js";
import type { BridgeConfig } from "./config.js";
import { ChainNetwork } from "./network.js";

export interface RunningBridge {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Connects the fee wallet to the deployment and serves the API and chat page. */
export async function startBridge(config: BridgeConfig): Promise<RunningBridge> {
  const logger = pino({ level: config.logLevel, base: { service: "triad-bridge" } });
  const conn: ClientConnection = await connectClient({
    rpcUrl: config.rpcUrl,
    relayUrl: config.relayUrl,
    privateKey: config.privateKey,
    deploymentFile: config.deployment,
  });
  let store: BridgeStore | undefined;
  try {
    const fee = config.feeWei ?? (await conn.taskManager.minFee());
    store = new BridgeStore(config.stateFile);
    const appOptions = {
      network: new ChainNetwork(conn, { fee, minVramFloorGb: config.minVramGb }),
      accounts: new ApiAccounts(config.apiKeys, store),
      models: config.models,
      fee,
      timeoutMs: config.timeoutMs,
      preflight: new Preflight(config.modelsDir),
      explorer: new NetworkIndexer({
        provider: conn.provider,
        registry: conn.registry,
        taskManager: conn.taskManager,
        fromBlock: conn.deployment.blockNumber,
      }),
      logger,
    };
    const app = await buildBridgeApp(appOptions);
    await app.listen({ host: config.host, port: config.port });
    void recoverOpenRequests(app, appOptions);
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const url = `http://${config.host}:${port}`;
    logger.info({ url, payer: conn.address, fee: fee.toString(), stateFile: config.stateFile }, "bridge listening");
    return {
      url,
      app,
      async close() {
        await app.close();
        conn.close();
        store?.close();
      },
    };
  } catch (error) {
    conn.close();
    store?.close();
    throw error;
  }
}
