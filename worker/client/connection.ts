import { JsonRpcProvider, NonceManager } from "ethers";
import { connectContracts, type TriadContracts } from "../chain/contracts.js";
import { DEFAULT_DEPLOYMENTS_DIR, loadDeployment, readDeploymentFile, type TriadDeployment } from "../chain/deployment.js";
import { ChainWallet } from "../chain/wallet.js";
import { RelayClient } from "../relay/client.js";

/** Everything a client needs to create tasks and read their results. */
export interface ClientConnection extends TriadContracts {
  provider: JsonRpcProvider;
  signer: NonceManager;
  address: string;
  deployment: TriadDeployment;
  relay: RelayClient;
  close(): void;
}

export interface ClientEndpoints {
  rpcUrl: string;
  relayUrl: string;
  /** 0x-prefixed 32-byte hex key of the account that pays the fees. */
  privateKey: string;
  /** Directory holding deployments/<chainId>.json, picked by the RPC's chain id (default "deployments"). */
  deploymentsDir?: string;
  /** Instead of deploymentsDir: this deployment record, which must be for the RPC's chain. */
  deploymentFile?: string;
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
    const deployment =
      endpoints.deploymentFile === undefined
        ? loadDeployment(chainId, endpoints.deploymentsDir ?? DEFAULT_DEPLOYMENTS_DIR)
        : readDeploymentFile(endpoints.deploymentFile, chainId);
    const wallet = new ChainWallet(endpoints.privateKey, provider);
    const signer = new NonceManager(wallet);
    return {
      provider,
      signer,
      address: wallet.address,
      deployment,
      ...connectContracts(deployment, signer),
      // Signed for this deployment: a relay cannot have the wallet sign requests valid at another deployment's relay.
      relay: new RelayClient(endpoints.relayUrl, wallet, {
        domain: { chainId: BigInt(deployment.chainId), taskManager: deployment.taskManager },
      }),
      close: () => provider.destroy(),
    };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}
