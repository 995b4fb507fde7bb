import type { ContractTransactionResponse, Provider, Wallet } from "ethers";
import pRetry, { AbortError } from "p-retry";
import type pino from "pino";
import type { NodeRegistry, TaskManager, TriadToken } from "../../typechain-types/index.js";
import { connectContracts } from "../chain/contracts.js";
import type { TriadDeployment } from "../chain/deployment.js";
import { ContractRefusal, asRefusal } from "../chain/revert.js";
import { ChainWallet, TRIGGERED_WORK_GAS } from "../chain/wallet.js";
import type { WorkerMetrics } from "./metrics.js";

export interface TxCall {
  /** Simulates the call; rejects with the contract's revert. */
  simulate(): Promise<unknown>;
  send(): Promise<ContractTransactionResponse>;
}

/** An ethers provider that also speaks raw JSON-RPC (a JsonRpcProvider, or Hardhat's in-process provider in tests). */
export type ChainProvider = Provider & { send(method: string, params: unknown[]): Promise<unknown>; destroy?(): void };

/** The worker's view of the chain: its account, the three contracts, and transaction sending with retries. */
export class ChainClient {
  readonly wallet: Wallet;
  readonly registry: NodeRegistry;
  readonly taskManager: TaskManager;
  readonly token: TriadToken;

  constructor(
    readonly provider: ChainProvider,
    privateKey: string,
    readonly deployment: TriadDeployment,
    private readonly log: pino.Logger,
    private readonly metrics: WorkerMetrics,
  ) {
    this.wallet = new ChainWallet(privateKey, this.provider, { gasHeadroom: TRIGGERED_WORK_GAS });
    ({ registry: this.registry, taskManager: this.taskManager, token: this.token } = connectContracts(deployment, this.wallet));
  }

  get address(): string {
    return this.wallet.address;
  }

  /** Fails unless the RPC endpoint serves the deployment's chain with code at the task manager's address. */
  async checkDeployment(): Promise<void> {
    const chainId = (await this.provider.send("eth_chainId", [])) as string;
    if (BigInt(chainId) !== BigInt(this.deployment.chainId)) {
      throw new Error(`the RPC endpoint serves chain ${BigInt(chainId)}, the deployment is for chain ${this.deployment.chainId}`);
    }
    if ((await this.provider.getCode(this.deployment.taskManager)) === "0x") {
      throw new Error(`no contract at the deployment's taskManager address ${this.deployment.taskManager}`);
    }
  }

  /** The timestamp the next block will carry at the earliest: max(latest block's, wall clock). */
  async chainTime(): Promise<number> {
    const latest = await this.provider.getBlock("latest");
    if (!latest) throw new Error("the RPC endpoint returned no latest block");
    return Math.max(latest.timestamp, Math.floor(Date.now() / 1000));
  }

  /**
   * Simulates, sends and waits for a transaction. Network failures are retried with backoff; a revert is a
   * ContractRefusal (no retry). Resolves with the mined transaction's hash.
   */
  async execute(action: string, call: TxCall): Promise<string> {
    try {
      const hash = await pRetry(
        async () => {
          try {
            await call.simulate();
            const tx = await call.send();
            const receipt = await tx.wait(1, 60_000);
            if (receipt?.status !== 1) throw new ContractRefusal(action, `transaction ${tx.hash} reverted`);
            return tx.hash;
          } catch (error) {
            const refusal = asRefusal(action, error);
            if (refusal) throw new AbortError(refusal);
            throw error;
          }
        },
        {
          retries: 4,
          minTimeout: 300,
          factor: 2,
          onFailedAttempt: ({ error, attemptNumber }) =>
            this.log.warn({ action, attempt: attemptNumber, err: error.message }, "transaction attempt failed; retrying"),
        },
      );
      this.metrics.transactions.inc({ action, result: "mined" });
      this.log.info({ action, tx: hash }, "transaction mined");
      return hash;
    } catch (error) {
      this.metrics.transactions.inc({ action, result: error instanceof ContractRefusal ? "refused" : "failed" });
      throw error;
    }
  }

  destroy(): void {
    this.provider.destroy?.();
  }
}
