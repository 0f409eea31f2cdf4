import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { DatabasePool } from "slonik";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import type { ModelRuntime } from "../ml/model-runtime.js";
import type { RankingBuild, RankingBuildObserver } from "../service/ranking-cache.js";
import type { LogWriterStats } from "../service/recommendation-log-writer.js";
import type { RetrainObserver, RetrainOutcomeLabel } from "../service/retrainer.js";
import type { CallObserver, FinishedCall } from "./call-interceptor.js";

/** What the metrics read at scrape time instead of being told: always current, never stale. */
export interface MetricSources {
  /** The main pool (the one RPCs use); its state() is read on every scrape. */
  pool: DatabasePool;
  /** The serving models, for active_model_info. */
  runtime: ModelRuntime;
  /** Calls in flight now, for rpc_in_flight (the figure MAX_IN_FLIGHT_CALLS caps). */
  inFlightCalls(): number;
  /** What the batched recommendation log writer has done, and its queue now. */
  recommendationLog(): LogWriterStats;
}

/** The method name the call interceptor reports for StreamInsights (its subscribers are a gauge). */
const STREAM_INSIGHTS = `${LearningService.typeName}/${LearningService.method.streamInsights.name}`;

// Most RPCs answer in well under a millisecond to a few tens (one indexed write, one cached
// prediction); bulk uploads, analysis and exports take seconds. Half-decade steps from 0.25 ms to
// 30 s keep both ends readable; long-lived streams (StreamInsights) fall into +Inf by design.
const RPC_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// A retraining reads up to RETRAIN_MAX_ROWS rows and grows hundreds of trees: seconds to minutes.
const RETRAIN_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * The service's Prometheus metrics, on a registry of its own (not prom-client's global one), so
 * several services in one process (tests, a replica per worker) never share or clash on figures.
 * Events (calls, stored executions, retrainings) are pushed here as they happen; states (pool,
 * serving models, calls in flight) are read from their owners at scrape time.
 */
export class ServiceMetrics implements CallObserver, RetrainObserver, RankingBuildObserver {
  /** The registry `GET /metrics` renders. */
  readonly registry = new Registry();
  readonly #rpcTotal: Counter<"method" | "code">;
  readonly #rpcDuration: Histogram<"method" | "code">;
  readonly #ingested: Counter;
  readonly #subscribers: Gauge;
  readonly #retrainTotal: Counter<"outcome">;
  readonly #retrainDuration: Histogram;
  readonly #rankingBuilds: Counter<"on">;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    // RSS, heap, event-loop lag, GC, open handles: the process figures every Node service exposes,
    // under their usual names so stock dashboards work.
    collectDefaultMetrics({ register: this.registry });
    this.#rpcTotal = new Counter({
      name: "agent_learning_rpc_total",
      help: "RPCs finished, by method (package.Service/Method) and status code (connect Code name, e.g. OK, InvalidArgument).",
      labelNames: ["method", "code"],
      registers,
    });
    this.#rpcDuration = new Histogram({
      name: "agent_learning_rpc_duration_seconds",
      help: "Time from the call entering the server to its last response message (streams: their whole life).",
      labelNames: ["method", "code"],
      buckets: RPC_BUCKETS,
      registers,
    });
    new Gauge({
      name: "agent_learning_rpc_in_flight",
      help: "RPCs in flight now (capped by MAX_IN_FLIGHT_CALLS; open streams count).",
      registers,
      collect() {
        this.set(sources.inFlightCalls());
      },
    });
    this.#ingested = new Counter({
      name: "agent_learning_executions_ingested_total",
      help: "Executions newly stored by this replica (duplicates and rejected items are not counted).",
      registers,
    });
    this.#subscribers = new Gauge({
      name: "agent_learning_stream_subscribers",
      help: "StreamInsights streams open on this replica.",
      registers,
    });
    new Gauge({
      name: "agent_learning_active_model_info",
      help: "1 for each model version serving on this replica, by kind (success, duration).",
      labelNames: ["kind", "version"],
      registers,
      collect() {
        // Rebuilt on every scrape: a replaced version must disappear, not linger at 1.
        this.reset();
        const snapshot = sources.runtime.snapshot;
        for (const model of [snapshot.success, snapshot.duration]) {
          if (model) this.set({ kind: model.kind, version: model.version }, 1);
        }
      },
    });
    this.#retrainDuration = new Histogram({
      name: "agent_learning_retrain_duration_seconds",
      help: "Duration of retrainings that ran on this replica (whatever their outcome).",
      buckets: RETRAIN_BUCKETS,
      registers,
    });
    this.#retrainTotal = new Counter({
      name: "agent_learning_retrain_total",
      help: "Retrainings by outcome: activated (a version went live), rejected (every version failed the quality gate or parity check), insufficient_data, skipped (another replica held the lock), failed (error).",
      labelNames: ["outcome"],
      registers,
    });
    new Gauge({
      name: "agent_learning_db_pool_connections",
      help: "Connections of the main database pool by state: acquired (in use), idle, pending (being opened).",
      labelNames: ["state"],
      registers,
      collect() {
        const state = sources.pool.state();
        this.set({ state: "acquired" }, state.acquiredConnections);
        this.set({ state: "idle" }, state.idleConnections);
        this.set({ state: "pending" }, state.pendingConnections);
      },
    });
    new Gauge({
      name: "agent_learning_recommendation_log_queued",
      help: "PredictAgents answers whose log waits in memory to be written (a crash loses them; see RECOMMENDATION_LOG_FLUSH_MS).",
      registers,
      collect() {
        this.set(sources.recommendationLog().queued);
      },
    });
    new Counter({
      name: "agent_learning_recommendation_log_total",
      help: "The recommendation log writer's work: statements (batches committed), answers (written), failures (writes failed and retried), dropped (answers PostgreSQL refused, logged).",
      labelNames: ["event"],
      registers,
      collect() {
        // The writer keeps the totals; a scrape copies them.
        const stats = sources.recommendationLog();
        this.reset();
        for (const event of ["statements", "answers", "failures", "dropped"] as const) this.inc({ event }, stats[event]);
      },
    });
    this.#rankingBuilds = new Counter({
      name: "agent_learning_ranking_builds_total",
      help: "PredictAgents rankings built, by where: call (a call waited for it), background (the previous snapshot's answered meanwhile), swap (built before a new model served).",
      labelNames: ["on"],
      registers,
    });
    new Gauge({
      name: "agent_learning_db_pool_waiting_clients",
      help: "Queries waiting for a connection of the main pool (above 0 for long: the pool is too small or the database too slow).",
      registers,
      collect() {
        this.set(sources.pool.state().waitingClients);
      },
    });
  }

  /** A call entered the server. */
  callStarted(method: string): void {
    if (method === STREAM_INSIGHTS) this.#subscribers.inc();
  }

  /** A call finished (or was abandoned by its client), with the code the client saw. */
  callFinished(call: FinishedCall): void {
    if (call.method === STREAM_INSIGHTS) this.#subscribers.dec();
    this.#rpcTotal.inc({ method: call.method, code: call.code });
    this.#rpcDuration.observe({ method: call.method, code: call.code }, call.seconds);
  }

  /** Executions newly committed to the store. */
  executionsStored(count: number): void {
    if (count > 0) this.#ingested.inc(count);
  }

  /** A PredictAgents ranking was built. */
  rankingBuilt(on: RankingBuild): void {
    this.#rankingBuilds.inc({ on });
  }

  /** A retraining ended; `seconds` is absent when it did not run here (skipped). */
  retrainFinished(outcome: RetrainOutcomeLabel, seconds?: number): void {
    this.#retrainTotal.inc({ outcome });
    if (seconds !== undefined) this.#retrainDuration.observe(seconds);
  }
}
