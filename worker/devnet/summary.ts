import { formatEther } from "ethers";
import type { DevnetManifest } from "./manifest.js";

/** What `triad devnet` prints once everything runs: endpoints, accounts (dev-only keys), where to look next. */
export function formatDevnetSummary(manifest: DevnetManifest, stakeWei?: bigint): string {
  const mining = manifest.blockTimeSeconds === 0 ? "automine" : `a block every ${manifest.blockTimeSeconds} s`;
  const lines = [
    `Triad devnet is running (chain ${manifest.chainId}, ${mining})`,
    ``,
    `Endpoints`,
    `  JSON-RPC       ${manifest.rpcUrl}`,
    `  relay          ${manifest.relayUrl}   (health: ${manifest.relayUrl}/healthz)`,
    `  bridge (API)   ${manifest.bridge.url}/v1   API key ${manifest.bridge.apiKey}`,
    `  chat page      ${manifest.bridge.chatPage}`,
    ...manifest.workers.map((w) => {
      const faults = w.faults ? `   FAULTS: ${Object.keys(w.faults).join(", ")}` : "";
      return `  ${pad(w.name, 14)} ${w.metricsUrl}   ${w.cardModel} / ${w.vramGb} GB${faults}`;
    }),
    ``,
    `Models (${manifest.modelsDir})`,
    ...(manifest.models ?? []).map((m) => `  ${pad(m.id, 14)} revision ${m.revision}   files digest ${m.digest}`),
    ``,
    `Contracts (${manifest.deploymentFile})`,
    ...Object.entries(manifest.contracts).map(([name, address]) => `  ${pad(name, 14)} ${address}`),
    ``,
    `Accounts: Hardhat's well-known dev keys. PUBLICLY KNOWN, DEV ONLY: never use them on a real network.`,
    ...manifest.accounts.map((a) => {
      const worker = manifest.workers.find((w) => w.address === a.address);
      const role = worker ? `worker ${worker.name}` : a.role;
      return `  #${pad(String(a.index), 2)} ${a.address} ${a.privateKey}  ${role}`;
    }),
    ...(stakeWei !== undefined ? [`  (each worker staked ${formatEther(stakeWei)} TRIAD; every account holds 10000 ETH)`] : []),
    ``,
    `Manifest: ${manifest.stateDir}/devnet.json   Logs: ${manifest.stateDir}/logs/`,
    `Try:     npx triad task submit examples/greedy.json && npx triad task result 1 --wait`,
    `Stop:    Ctrl-C (workers, then bridge and relay, then the chain)`,
  ];
  return lines.join("\n");
}

function pad(text: string, width: number): string {
  return text.padEnd(width);
}
