import { setMaxListeners } from "node:events";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Code, ConnectError } from "@connectrpc/connect";
import { pino, type Logger } from "pino";
import type { Config } from "./config.js";
import { callInterceptor, InFlightCalls } from "./server/call-interceptor.js";
import { HealthRegistry } from "./server/health.js";
import { listenDualProtocol } from "./server/listener.js";
import { authInterceptor, isLoopbackHost, resolveAuth } from "./server/auth.js";
import { listenTls, loadTls } from "./server/tls.js";
import { deadlineAnswer } from "./server/deadline.js";
import { ingestCounter } from "./server/ingest-counter.js";
import { inFlightLimit, streamLengthLimit, streamRateLimit } from "./server/limits.js";
import { withMetricsEndpoint } from "./server/metrics-endpoint.js";
import { ServiceMetrics } from "./server/metrics.js";
import { ReadinessMonitor } from "./server/readiness.js";
import { API_SERVICES, routes } from "./server/routes.js";
import { answerUndecodableRequests, markDecoded } from "./server/undecodable-requests.js";
import { createDatabase } from "./store/create-database.js";
import { startEmbeddedPostgres } from "./store/embedded-postgres.js";
import { migrate } from "./store/migrate.js";
import { INSIGHTS_CHANNEL } from "./store/insights.js";
import { NotificationListener } from "./store/listener.js";
import { SETTINGS_CHANNEL } from "./store/settings.js";
import { analysisJob } from "./service/analysis-runner.js";
import { DueScheduler } from "./service/due-scheduler.js";
import { ModelRuntime } from "./ml/model-runtime.js";
import { ModelSync } from "./service/model-loader.js";
import { ModelFilesSync } from "./service/model-files-sync.js";
import { Retrainer, retrainJob } from "./service/retrainer.js";
import { MODELS_CHANNEL } from "./store/models.js";
import { EvidenceCache } from "./service/evidence-cache.js";
import { SettingsCache } from "./service/settings-cache.js";
import { createStorePool } from "./store/pool.js";
import { provisionEmbeddedAppRole } from "./store/embedded-app-role.js";
import { RetentionJob, retentionPolicyOf } from "./service/retention-job.js";

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
   * UNAVAILABLE, in-flight calls finish, then connections and the pool close.
   */
  stop(): Promise<void>;
}

/** Name of the database the service creates inside the embedded PostgreSQL. */
const EMBEDDED_DATABASE = "agent_learning";

/** Creates the process logger: JSON lines on stdout. */
export function createLogger(level: Config["logLevel"]): Logger {
  return pino({ level, base: { service: "agent-learning" }, redact: ["databaseUrl", "*.databaseUrl", "appDatabaseUrl", "*.appDatabaseUrl", "*.password", "*.token", "authTokens", "*.authTokens", "authorization", "*.authorization", "*.headers.authorization"] });
}

/**
 * Resolves the database to use: the configured one, or an embedded PostgreSQL started now. The
 * URL is the OWNER's (it runs migrations); `serviceDatabaseUrl` says what the queries run as.
 */
export async function provideDatabase(config: Config, log: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => {} };
  log.info({ dataDir: config.embeddedDataDir, port: config.embeddedPort }, "no DATABASE_URL: starting embedded PostgreSQL");
  const embedded = await startEmbeddedPostgres({
    dataDir: config.embeddedDataDir,
    port: config.embeddedPort,
    log: (message) => log.debug({ component: "embedded-postgres" }, message),
  });
  try {
    const url = await createDatabase(embedded.url, EMBEDDED_DATABASE);
    return { url, stop: () => embedded.stop() };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
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

/**
 * Starts the whole service: database (embedded when none is configured), migrations, readiness
 * probing, and one port serving gRPC, gRPC-Web and Connect with health and reflection.
 */
export async function startService(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningService> {
  // Access control and certificates are settled before the database starts or anything listens,
  // so a bad or missing setting (e.g. a public bind without tokens) stops the service here.
  const tokens = resolveAuth(config.host, config);
  const tls = loadTls(config);
  const database = await provideDatabase(config, log);
  const cleanup: (() => Promise<void>)[] = [() => database.stop()];
  const unwind = async () => {
    for (const step of cleanup.reverse()) await step().catch((error) => log.error({ err: error }, "cleanup failed"));
  };
  try {
    const { applied, current } = await migrate(database.url);
    if (applied.length > 0) log.info({ applied, current }, "migrations applied");
    // Least privilege: everything below runs as the application role when there is one.
    const serviceUrl = await serviceDatabaseUrl(config, database.url, log);
    const pool = await createStorePool(serviceUrl, { maximumPoolSize: config.poolSize, applicationName: "agent-learning" });
    cleanup.push(() => pool.end());
    const logPool = await createStorePool(serviceUrl, {
      maximumPoolSize: 2,
      applicationName: "agent-learning-log",
      synchronousCommit: false,
    });
    cleanup.push(() => logPool.end());
    logPool.on("error", (error) => log.warn({ err: error }, "database pool error (an idle connection may have been dropped; the pool replaces it)"));
    // An idle connection dropped by PostgreSQL surfaces here; the pool replaces it on next use.
    pool.on("error", (error) => log.warn({ err: error }, "database pool error (an idle connection may have been dropped; the pool replaces it)"));

    const health = new HealthRegistry(API_SERVICES.map((s) => s.typeName));
    const readiness = new ReadinessMonitor(pool, current, health, log);
    await readiness.start(1_000);
    cleanup.push(async () => readiness.stop());

    const notifications = new NotificationListener(serviceUrl, [INSIGHTS_CHANNEL, SETTINGS_CHANNEL, MODELS_CHANNEL], log);
    await notifications.start();
    cleanup.push(() => notifications.stop());
    const settings = new SettingsCache(pool, notifications, 1_000);
    const learningEnabled = async () => (await settings.get()).learning_enabled;
    const scheduler = new DueScheduler(
      analysisJob(pool, learningEnabled),
      { everyExecutions: config.analysisEveryExecutions, everyMs: config.analysisIntervalMs, checkMs: 2_000, dueWhenNeverRun: true },
      log,
    );
    scheduler.start();
    cleanup.push(() => scheduler.stop());

    const runtime = new ModelRuntime();
    cleanup.push(async () => runtime.close());
    await new ModelSync(pool, runtime, notifications, log).start();
    const modelFiles = new ModelFilesSync(pool, config.modelsDir, log);
    await modelFiles.start(notifications);
    // Scrape-time figures read `inFlight` (declared below) only once the server answers.
    const metrics = new ServiceMetrics({ pool, runtime, inFlightCalls: () => inFlight.size });
    const retrainer = new Retrainer(pool, serviceUrl, runtime, log, config.retrainMaxRows, metrics);
    const retrainScheduler = new DueScheduler(
      retrainJob(pool, retrainer, learningEnabled),
      { everyExecutions: config.retrainEveryExecutions, everyMs: config.retrainIntervalMs, checkMs: 5_000, dueWhenNeverRun: false },
      log,
    );
    retrainScheduler.start();
    cleanup.push(() => retrainScheduler.stop());
    const retentionPolicy = retentionPolicyOf(config);
    if (retentionPolicy) {
      const retention = new RetentionJob(pool, retentionPolicy, { intervalMs: config.retentionIntervalMs, batchSize: config.retentionBatchSize }, log);
      retention.start();
      cleanup.push(() => retention.stop());
    }

    const inFlight = new InFlightCalls();
    const shutdown = new AbortController();
    // connect-node adds one abort listener per call in flight: many is normal load, not a leak.
    setMaxListeners(0, shutdown.signal);
    const startedAtMs = Date.now();
    const serviceRoutes = routes(
      {
        pool,
        logPool,
        log,
        knownAgents: new Set(),
        bulkBatchSize: config.bulkBatchSize,
        startedAtMs,
        isDatabaseReady: () => readiness.ready,
        schemaVersion: () => readiness.schemaVersion,
        listener: notifications,
        settings,
        evidence: new EvidenceCache(pool, config.evidenceCacheMs),
        heartbeatMs: config.heartbeatMs,
        runtime,
        retrainer,
        modelFiles,
        random: Math.random,
      },
      health,
    );
    const handler = connectNodeAdapter({
      routes: (router) => {
        serviceRoutes(router);
        // Calls refused before any interceptor never reach the call interceptor: logged and counted here.
        answerUndecodableRequests(router, ({ method, code, reason, seconds }) => {
          log.info({ method, code, reason, durationMs: Math.round(seconds * 1e6) / 1e3 }, "rpc");
          metrics.callFinished({ method, code, seconds });
        });
      },
      // Outermost first: the call interceptor logs and counts every answer, limits included; the
      // ingest counter sits next to the handler, to see bulk results the stream limit replaces.
      interceptors: [
        markDecoded,
        callInterceptor(log, inFlight, metrics),
        ...(tokens ? [authInterceptor(tokens)] : []),
        inFlightLimit(inFlight, config.maxInFlightCalls),
        deadlineAnswer(inFlight, log),
        streamLengthLimit(config.maxStreamExecutions),
        streamRateLimit(config.maxStreamRate),
        ingestCounter((count) => metrics.executionsStored(count)),
      ],
      readMaxBytes: config.maxMessageBytes,
      shutdownSignal: shutdown.signal,
    });
    const served = withMetricsEndpoint(metrics.registry, handler);
    const listenerOptions = { maxConcurrentStreams: config.maxConcurrentStreams };
    const listener = tls
      ? await listenTls(config.host, config.port, served, tls, listenerOptions)
      : await listenDualProtocol(config.host, config.port, served, listenerOptions);
    const url = `${tls ? "https" : "http"}://${config.host.includes(":") ? `[${config.host}]` : config.host}:${listener.port}`;
    log.info(
      { url, embeddedDatabase: !config.databaseUrl, tls: tls ? (tls.clientCa ? "mutual" : "server") : "off", auth: tokens ? `${tokens.size} tokens` : "off" },
      "agent-learning serving gRPC, gRPC-Web and Connect",
    );
    if (tokens && !tls && !isLoopbackHost(config.host)) {
      log.warn("bearer tokens cross the network in cleartext: set TLS_CERT_FILE and TLS_KEY_FILE, or terminate TLS in front of the service");
    }

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        log.info({ inFlight: inFlight.size }, "shutting down");
        health.shutdown();
        // Long-lived streams end now with a status clients understand as "retry elsewhere".
        shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
        listener.stopAccepting();
        const deadline = Date.now() + config.shutdownGraceMs;
        const drained = await inFlight.drained(config.shutdownGraceMs);
        // A handler that has returned may still be writing its response: let connections close
        // on their own (HTTP/2 sessions close once their last stream ends) before cutting them.
        const closed = drained && (await withTimeout(listener.closed(), Math.max(250, deadline - Date.now())));
        if (!closed) {
          log.warn({ inFlight: inFlight.size }, "grace period over: cutting remaining connections");
          listener.destroyAll();
          await listener.closed();
        }
        await unwind();
        log.info("stopped");
      })();
      return stopping;
    };
    return { port: listener.port, url, databaseUrl: database.url, stop };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/**
 * The connection the service's own queries use (pools, LISTEN, the retrain worker):
 * APP_DATABASE_URL when given; for the embedded default, its `agent_learning_app` role, set up now
 * (after the migrations, so the grants cover every table); else DATABASE_URL itself, the
 * single-role mode, in which a compromised service could also alter or drop the schema.
 */
async function serviceDatabaseUrl(config: Config, ownerUrl: string, log: Logger): Promise<string> {
  if (config.appDatabaseUrl) {
    if (!config.databaseUrl) throw new Error("APP_DATABASE_URL needs DATABASE_URL (the owner role that runs migrations)");
    return config.appDatabaseUrl;
  }
  if (!config.databaseUrl) return provisionEmbeddedAppRole(ownerUrl, config.embeddedDataDir);
  log.info("single-role mode: queries run as the DATABASE_URL role; set APP_DATABASE_URL to run them with least privilege");
  return ownerUrl;
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
