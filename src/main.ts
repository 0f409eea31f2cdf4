import { pino, type Logger } from "pino";
import type { Config } from "./config.js";
import { ModelRuntime } from "./ml/model-runtime.js";
import { resolveAuth } from "./server/auth.js";
import { InFlightCalls } from "./server/call-interceptor.js";
import { HealthRegistry } from "./server/health.js";
import { ServiceMetrics } from "./server/metrics.js";
import { ReadinessMonitor } from "./server/readiness.js";
import { API_SERVICES } from "./server/routes.js";
import { loadTls } from "./server/tls.js";
import { EvidenceCache } from "./service/evidence-cache.js";
import { RecommendMemo } from "./learning/ranking.js";
import { ModelEstimates } from "./service/model-estimates.js";
import { ModelFilesSync } from "./service/model-files-sync.js";
import { ModelSync } from "./service/model-loader.js";
import { RolloutState } from "./service/rollout-state.js";
import { retentionPolicyOf } from "./service/retention-job.js";
import { type RetentionOutcome, runRetention } from "./service/retention-run.js";
import { DEFAULT_LOG_WRITER_OPTIONS, RecommendationLogWriter } from "./service/recommendation-log-writer.js";
import { RankingCache } from "./service/ranking-cache.js";
import { Retrainer } from "./service/retrainer.js";
import { SettingsCache } from "./service/settings-cache.js";
import { startAggregateFold, startAnalysis, startRetention, startRetraining } from "./startup/background-jobs.js";
import { migrateSchema, openPool, provideDatabase, serviceDatabaseUrl } from "./startup/database.js";
import { Lifecycle } from "./startup/lifecycle.js";
import { startRpcServer } from "./startup/rpc-server.js";
import { INSIGHTS_CHANNEL } from "./store/insights.js";
import { NotificationListener } from "./store/listener.js";
import { migrate } from "./store/migrate.js";
import { MODELS_CHANNEL } from "./store/models.js";
import { ROLLOUT_CHANNEL } from "./store/rollouts.js";
import { createStorePool } from "./store/pool.js";
import type { RetentionPolicy } from "./store/retention.js";
import { SETTINGS_CHANNEL } from "./store/settings.js";

export { provideDatabase } from "./startup/database.js";
export type { RetentionOutcome } from "./service/retention-run.js";
export type { RetentionPolicy } from "./store/retention.js";

/** A running service, as `serve` and the tests hold it. */
export interface RunningService {
  /** The bound port. */
  port: number;
  /** Base URL for clients, e.g. http://127.0.0.1:50051. */
  url: string;
  /** The database URL in use (the embedded one when none was configured); never logged. */
  databaseUrl: string;
  /**
   * Graceful shutdown: health NOT_SERVING (Watch streams get it, then end), other streams end with
   * UNAVAILABLE, in-flight calls finish, the queued recommendation logs are written, then
   * connections and the pools close.
   */
  stop(): Promise<void>;
  /** PredictAgents' batched log: `flush` writes what is queued now (tests that read the log directly). */
  recommendationLog: Pick<RecommendationLogWriter, "flush" | "stats">;
}

/** Creates the process logger: JSON lines on stdout. */
export function createLogger(level: Config["logLevel"]): Logger {
  return pino({
    level,
    base: { service: "agent-learning" },
    redact: [
      "databaseUrl",
      "*.databaseUrl",
      "appDatabaseUrl",
      "*.appDatabaseUrl",
      "*.password",
      "*.token",
      "authTokens",
      "*.authTokens",
      "authorization",
      "*.authorization",
      "*.headers.authorization",
    ],
  });
}

/** Applies the migrations with the given configuration, for `agent-learning migrate`. */
export async function migrateOnly(config: Config, log: Logger): Promise<{ applied: number[]; current: number }> {
  const database = await provideDatabase(config, log);
  try {
    return await migrate(database.url);
  } finally {
    await database.stop();
  }
}

/** A retention run of `agent-learning retention`: the policy applied and what it did. */
export interface RetentionRun {
  policy: RetentionPolicy;
  outcome: RetentionOutcome;
}

/**
 * Applies the configured retention policy once, for `agent-learning retention`: an operator's
 * maintenance command like `migrate`, so it works on the configured database directly, with no
 * server running (APP_DATABASE_URL, else DATABASE_URL, else the embedded PostgreSQL when no
 * service holds it). Undefined when the configuration sets no limit.
 */
export async function retentionOnce(
  config: Config,
  log: Logger,
  options: { dryRun: boolean; signal: AbortSignal },
): Promise<RetentionRun | undefined> {
  const policy = retentionPolicyOf(config);
  if (!policy) return undefined;
  const database = await provideDatabase(config, log);
  try {
    // Deleting rows needs no more than the application role's rights.
    const pool = await createStorePool(config.appDatabaseUrl ?? database.url, {
      maximumPoolSize: 1,
      applicationName: "agent-learning-retention",
    });
    try {
      const outcome = await runRetention(pool, policy, {
        dryRun: options.dryRun,
        batchSize: config.retentionBatchSize,
        signal: options.signal,
        log,
      });
      return { policy, outcome };
    } finally {
      await pool.end();
    }
  } finally {
    await database.stop();
  }
}

/**
 * Starts the whole service: database (embedded when none is configured), migrations, readiness
 * probing, the background jobs, and one port serving gRPC, gRPC-Web and Connect with health and
 * reflection. Each part is started in order and stopped in reverse (see Lifecycle).
 */
export async function startService(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningService> {
  // Access control and certificates are settled before the database starts or anything listens,
  // so a bad or missing setting (e.g. a public bind without tokens) stops the service here.
  const tokens = resolveAuth(config.host, config);
  const tls = loadTls(config);
  const lifecycle = new Lifecycle(log);
  try {
    const database = await lifecycle.start(
      "database",
      () => provideDatabase(config, log),
      (d) => d.stop(),
    );
    const schemaVersion = await migrateSchema(database.url, log);
    // Least privilege: everything below runs as the application role when there is one.
    const serviceUrl = await serviceDatabaseUrl(config, database.url, log);
    const pool = await lifecycle.start(
      "pool",
      () => openPool(serviceUrl, { maximumPoolSize: config.poolSize, applicationName: "agent-learning" }, log),
      (p) => p.end(),
    );
    const logPool = await lifecycle.start(
      "recommendation log pool",
      // One connection: the writer has one batch in flight at a time.
      () => openPool(serviceUrl, { maximumPoolSize: 1, applicationName: "agent-learning-log", synchronousCommit: false }, log),
      (p) => p.end(),
    );
    // Stopped after the RPC server (started later), so every answer given is in its queue, and
    // before the log pool, which it needs to write the queue out.
    const recommendationLog = await lifecycle.start(
      "recommendation log writer",
      () => new RecommendationLogWriter(logPool, log, { ...DEFAULT_LOG_WRITER_OPTIONS, flushIntervalMs: config.recommendationLogFlushMs }),
      (writer) => writer.close(),
    );

    const health = new HealthRegistry(API_SERVICES.map((s) => s.typeName));
    const readiness = await lifecycle.start(
      "readiness",
      async () => {
        const monitor = new ReadinessMonitor(pool, schemaVersion, health, log);
        await monitor.start(1_000);
        return monitor;
      },
      (monitor) => monitor.stop(),
    );
    const notifications = await lifecycle.start(
      "notifications",
      async () => {
        const listener = new NotificationListener(serviceUrl, [INSIGHTS_CHANNEL, SETTINGS_CHANNEL, MODELS_CHANNEL, ROLLOUT_CHANNEL], log);
        await listener.start();
        return listener;
      },
      (listener) => listener.stop(),
    );
    const settings = new SettingsCache(pool, notifications, log);
    const jobs = { config, pool, log, learningEnabled: async () => (await settings.get()).learning_enabled };
    await startAggregateFold(lifecycle, jobs);
    await startAnalysis(lifecycle, jobs);

    const runtime = await lifecycle.start(
      "model runtime",
      () => new ModelRuntime(),
      (r) => r.close(),
    );
    await new ModelSync(pool, runtime, notifications, log).start();
    const rollout = await lifecycle.start(
      "challenger rollout",
      async () => {
        const state = new RolloutState(pool, notifications, log);
        await state.start();
        return state;
      },
      (state) => state.close(),
    );
    const modelFiles = await lifecycle.start(
      "model files",
      async () => {
        const files = new ModelFilesSync(pool, config.modelsDir, log);
        await files.start(notifications);
        return files;
      },
      (files) => files.close(),
    );
    const inFlight = new InFlightCalls();
    const metrics = new ServiceMetrics({
      pool,
      runtime,
      inFlightCalls: () => inFlight.size,
      recommendationLog: () => recommendationLog.stats(),
    });
    const retrainer = new Retrainer(pool, serviceUrl, runtime, log, config.retrainMaxRows, metrics, config.promotion);
    await startRetraining(lifecycle, retrainer, jobs);
    await startRetention(lifecycle, jobs);

    const evidence = new EvidenceCache(pool, config.evidenceCacheMs, log);
    const estimates = new ModelEstimates();
    const recommendMemo = new RecommendMemo();
    const rankings = new RankingCache(evidence, estimates, runtime, recommendMemo, config.evidenceCacheMs > 0, log, metrics);
    // A new model serves once the rankings callers were asking for are built for it.
    runtime.prepareSwapsWith((next) => rankings.warm(next));
    const server = await lifecycle.start(
      "rpc server",
      () =>
        startRpcServer({
          config,
          log,
          tokens,
          tls,
          health,
          metrics,
          inFlight,
          dependencies: {
            pool,
            recommendationLog,
            log,
            knownAgents: new Set(),
            bulkBatchSize: config.bulkBatchSize,
            startedAtMs: Date.now(),
            isDatabaseReady: () => readiness.ready,
            schemaVersion: () => readiness.schemaVersion,
            listener: notifications,
            settings,
            evidence,
            heartbeatMs: config.heartbeatMs,
            estimates,
            recommendMemo,
            rankings,
            runtime,
            rollout,
            retrainer,
            modelFiles,
            random: Math.random,
          },
        }),
      (s) => s.close(),
    );

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        log.info({ inFlight: inFlight.size }, "shutting down");
        await lifecycle.stopAll();
        log.info("stopped");
      })();
      return stopping;
    };
    return { port: server.port, url: server.url, databaseUrl: database.url, stop, recommendationLog };
  } catch (error) {
    await lifecycle.stopAll();
    throw error;
  }
}
