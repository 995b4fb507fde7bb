import Fastify, { type FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { TaskEnding } from "./journal.js";

/** The worker's Prometheus metrics. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly tasks = new Counter({
    name: "triad_worker_tasks_total",
    help: "Tasks this node took part in, by how they ended for it",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly results = new Counter({
    name: "triad_worker_results_total",
    help: "Engine runs, by kind of result (response, or the deterministic error outcome)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly inferenceSeconds = new Histogram({
    name: "triad_worker_inference_seconds",
    help: "Engine time per task",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly tokensPerSecond = new Gauge({
    name: "triad_worker_tokens_per_second",
    help: "Completion tokens per second of the last task",
    registers: [this.registry],
  });
  readonly stake = new Gauge({
    name: "triad_worker_stake_tokens",
    help: "This node's stake in the registry (whole tokens)",
    registers: [this.registry],
  });
  readonly transactions = new Counter({
    name: "triad_worker_transactions_total",
    help: "Transactions sent, by action and result",
    labelNames: ["action", "result"] as const,
    registers: [this.registry],
  });
  readonly chainErrors = new Counter({
    name: "triad_worker_chain_errors_total",
    help: "Failed polls of the chain or relay (retried)",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  taskEnded(ending: TaskEnding): void {
    this.tasks.inc({ outcome: ending });
  }
}

/** Serves GET /metrics (Prometheus text format) and GET /healthz. */
export async function serveMetrics(metrics: WorkerMetrics, host: string, port: number): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get("/healthz", async () => ({ ok: true }));
  await app.listen({ host, port });
  return app;
}
