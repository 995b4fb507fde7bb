import { JsonRpcProvider, NonceManager, Wallet } from "ethers";
import { loadDeployment, type TriadDeployment } from "../../deploy/triad.js";
import { NodeRegistry__factory } from "../../typechain-types/index.js";
import { TaskManager__factory } from "../../typechain-types/index.js";
import { TriadToken__factory } from "../../typechain-types/index.js";
import type { NodeRegistry, TaskManager, TriadToken } from "../../typechain-types/index.js";
import { readManifest } from "../devnet/manifest.js";
import { RelayClient } from "../relay/client.js";
import path from "node:path";

/** Everything a client needs to create tasks and read their results. */
export interface ClientConnection {
  provider: JsonRpcProvider;
  signer: NonceManager;
  address: string;
  deployment: TriadDeployment;
  taskManager: TaskManager;
  token: TriadToken;
  registry: NodeRegistry;
  relay: RelayClient;
  close(): void;
}

export interface ClientEndpoints {
  rpcUrl: string;
  relayUrl: string;
  /** 0x-prefixed 32-byte hex key of the account that pays the fees. */
  privateKey: string;
  /** Directory holding deployments/<chainId>.json (default "deployments"). */
  deploymentsDir?: string;
}

/** How often transaction receipts are polled for. */
const RECEIPT_POLL_MS = 250;

export async function connectClient(endpoints: ClientEndpoints): Promise<ClientConnection> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(endpoints.privateKey)) {
    throw new Error("the private key must be 0x followed by 64 hex digits");
  }
  // ethers polls for receipts every 4 s by default: seconds of latency per transaction on a fast chain.
  const provider = new JsonRpcProvider(endpoints.rpcUrl, undefined, { pollingInterval: RECEIPT_POLL_MS });
  try {
    const { chainId } = await provider.getNetwork();
    const deployment = loadDeployment(chainId, endpoints.deploymentsDir ?? "deployments");
    const wallet = new Wallet(endpoints.privateKey, provider);
    const signer = new NonceManager(wallet);
    return {
      provider,
      signer,
      address: wallet.address,
      deployment,
      taskManager: TaskManager__factory.connect(deployment.taskManager, signer),
      token: TriadToken__factory.connect(deployment.token, signer),
      registry: NodeRegistry__factory.connect(deployment.nodeRegistry, provider),
      relay: new RelayClient(endpoints.relayUrl, wallet),
      close: () => provider.destroy(),
    };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}

/** Connects with the endpoints and client account of the devnet whose state dir is `stateDir`. */
export function connectDevnet(stateDir: string): Promise<ClientConnection> {
  const manifest = readManifest(stateDir);
  return connectClient({
    rpcUrl: manifest.rpcUrl,
    relayUrl: manifest.relayUrl,
    privateKey: manifest.clientAccount.privateKey,
    deploymentsDir: path.dirname(manifest.deploymentFile),
  });
}
