import { connectClient, type ClientConnection } from "../client/connection.js";
import { readManifest } from "./manifest.js";

/** A client connection with the endpoints and client account of the devnet whose state dir is `stateDir`. */
export function connectDevnet(stateDir: string): Promise<ClientConnection> {
  const manifest = readManifest(stateDir);
  return connectClient({
    rpcUrl: manifest.rpcUrl,
    relayUrl: manifest.relayUrl,
    privateKey: manifest.clientAccount.privateKey,
    deploymentFile: manifest.deploymentFile,
  });
}
