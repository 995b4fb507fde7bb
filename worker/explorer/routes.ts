import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import type { NetworkSnapshot } from "./indexer.js";

const asset = (name: string) => readFileSync(new URL(`./public/${name}`, import.meta.url), "utf8");

/** Something that can describe the network now (the NetworkIndexer, or a fixed snapshot in tests). */
export interface SnapshotSource {
  snapshot(): Promise<NetworkSnapshot>;
}

/**
 * The explorer page (GET /explorer) and its data (GET /v1/triad/network). Both are public: they show only
 * what the chain shows anyone. Concurrent requests share one snapshot in flight.
 */
export function registerExplorer(app: FastifyInstance, source: SnapshotSource): void {
  let inFlight: Promise<NetworkSnapshot> | undefined;
  app.get("/explorer", async (_request, reply) => reply.type("text/html; charset=utf-8").send(asset("explorer.html")));
  app.get("/explorer.js", async (_request, reply) => reply.type("text/javascript; charset=utf-8").send(asset("explorer.js")));
  app.get("/v1/triad/network", async () => {
    inFlight ??= source.snapshot().finally(() => (inFlight = undefined));
    return inFlight;
  });
}
