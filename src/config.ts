import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65_535);

/** Every setting of the service, from the environment and CLI flags, validated in one place. */
export const ConfigSchema = z.object({
  /** Address to bind; loopback by default so an unconfigured service is not exposed. */
  host: z.string().min(1).default("127.0.0.1"),
  /** Port serving gRPC, gRPC-Web and Connect; 0 picks a free one (tests). */
  port: port.default(50051),
  /** PostgreSQL connection string; absent means start the embedded PostgreSQL. */
  databaseUrl: z.string().url().optional(),
  /**
   * Connection of the application role the service's queries run as (pools, LISTEN, retraining);
   * DATABASE_URL then only runs migrations. Absent: single-role mode, everything as DATABASE_URL.
   */
  appDatabaseUrl: z.string().url().optional(),
  /** Data directory of the embedded PostgreSQL. */
  embeddedDataDir: z.string().min(1).default("./.data/pg"),
  /** Port of the embedded PostgreSQL. */
  embeddedPort: port.default(54329),
  /** Largest number of pooled database connections. */
  poolSize: z.coerce.number().int().min(1).max(200).default(10),
  /** How long graceful shutdown waits for in-flight calls before cutting them, in ms. */
  shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
  /** Largest accepted request message, bytes. */
  maxMessageBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  /** Executions committed per transaction by the bulk RPCs. */
  bulkBatchSize: z.coerce.number().int().min(1).max(5_000).default(500),
  /** Most executions one RecordExecutions or ImportData call may carry; beyond: RESOURCE_EXHAUSTED. */
  maxStreamExecutions: z.coerce.number().int().min(1).default(1_000_000),
  /** Executions per second one RecordExecutions or ImportData call is read at, at most (a 1 s burst, then paced). */
  maxStreamRate: z.coerce.number().positive().finite().default(20_000),
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection may have open at once (clients queue the rest). */
  maxConcurrentStreams: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .default(100),
  /** Calls in flight on this replica (all connections) beyond which new ones get RESOURCE_EXHAUSTED. */
  maxInFlightCalls: z.coerce.number().int().min(1).default(1_000),
  /** Automatic analysis once this many executions arrived since the last run (fleet-wide). */
  analysisEveryExecutions: z.coerce.number().int().min(1).default(500),
  /** Automatic analysis at least this often while anything new arrives, ms. */
  analysisIntervalMs: z.coerce.number().int().min(1000).default(60_000),
  /** Automatic retraining once this many executions arrived since the last one (fleet-wide). */
  retrainEveryExecutions: z.coerce.number().int().min(1).default(2_000),
  /** Automatic retraining at least this often while anything new arrives, ms. */
  retrainIntervalMs: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30 * 60_000),
  /**
   * Where every version that has been active is written as `<version>.onnx` and `<version>.json`
   * (its card), for use outside the service; PostgreSQL stays the source of truth and each replica
   * rebuilds missing files on start and on every activation.
   */
  modelsDir: z.string().min(1).default("./models"),
  /** Most recent executions a retraining learns from. */
  retrainMaxRows: z.coerce.number().int().min(100).default(200_000),
  /**
   * What a retraining does with a version that passed the holdout gate while its kind has an
   * active version: "holdout" activates it at once; "evidence" keeps the champion serving and
   * starts the new success version in shadow, to be promoted only on evidence (PromoteChallenger).
   * A kind with no active version activates on the holdout gate either way.
   */
  promotion: z.enum(["holdout", "evidence"]).default("holdout"),
  /** Retention: delete executions recorded more than this many days ago (aggregates are kept). */
  retentionDays: z.coerce.number().positive().finite().optional(),
  /** Retention: keep at most this many of the newest executions (aggregates are kept). */
  retentionMaxRows: z.coerce.number().int().min(1).optional(),
  /** How often the retention job runs when a retention setting is configured, ms. */
  retentionIntervalMs: z.coerce
    .number()
    .int()
    .min(1000)
    .default(60 * 60_000),
  /** Executions deleted per statement (each its own short transaction) by retention. */
  retentionBatchSize: z.coerce.number().int().min(1).max(100_000).default(5_000),
  /**
   * How often the running aggregates' deltas (one per stored execution) are folded into their
   * sums, ms. Reads are exact either way; a longer interval leaves more deltas for each read to add.
   */
  aggregateFoldMs: z.coerce.number().int().min(10).max(60_000).default(500),
  /** Idle time after which an insight stream sends a heartbeat, ms. */
  heartbeatMs: z.coerce.number().int().min(100).default(15_000),
  /**
   * Age at which the per-task-type evidence behind predictions is re-read in the background, ms;
   * it is served for at most 5× this (service/evidence-cache.ts), 0: read on every prediction.
   */
  evidenceCacheMs: z.coerce.number().int().min(0).default(1_000),
  /**
   * How long a PredictAgents answer's log waits in memory at most before its batch is written, ms
   * (service/recommendation-log-writer.ts): about what a crash can lose. Tests set it long to see
   * the queue; a full batch (500 answers) is written at once whatever it is.
   */
  recommendationLogFlushMs: z.coerce.number().int().min(1).max(60_000).default(100),
  /**
   * Bearer tokens, as hashes: a JSON array or `;`-separated `name:sha256hex:scope,scope` entries.
   * None configured: calls need no token, which only a loopback bind allows.
   */
  authTokens: z.string().optional(),
  /** A file of further tokens, one `name:sha256hex:scope,scope` per line (`#` comments). */
  authTokensFile: z.string().min(1).optional(),
  /** PEM certificate chain; with TLS_KEY_FILE the port serves TLS only (h2 and HTTP/1.1 by ALPN). */
  tlsCertFile: z.string().min(1).optional(),
  /** PEM private key of TLS_CERT_FILE. */
  tlsKeyFile: z.string().min(1).optional(),
  /** PEM CA bundle; set, every client must present a certificate that chains to it (mutual TLS). */
  tlsClientCaFile: z.string().min(1).optional(),
  /** pino log level. */
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Reads the configuration from environment variables, with explicit overrides (CLI flags) winning. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigInput = {}): Config {
  // Environment values are strings; the schema coerces them.
  const fromEnv: Record<keyof Config, string | undefined> = {
    host: env.HOST,
    port: env.PORT,
    databaseUrl: env.DATABASE_URL || undefined,
    appDatabaseUrl: env.APP_DATABASE_URL || undefined,
    embeddedDataDir: env.EMBEDDED_PG_DIR,
    embeddedPort: env.EMBEDDED_PG_PORT,
    poolSize: env.DATABASE_POOL_SIZE,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    maxMessageBytes: env.MAX_MESSAGE_BYTES,
    bulkBatchSize: env.BULK_BATCH_SIZE,
    maxStreamExecutions: env.MAX_STREAM_EXECUTIONS,
    maxStreamRate: env.MAX_STREAM_RATE,
    maxConcurrentStreams: env.MAX_CONCURRENT_STREAMS,
    maxInFlightCalls: env.MAX_IN_FLIGHT_CALLS,
    analysisEveryExecutions: env.ANALYSIS_EVERY_EXECUTIONS,
    analysisIntervalMs: env.ANALYSIS_INTERVAL_MS,
    retrainEveryExecutions: env.RETRAIN_EVERY_EXECUTIONS,
    retrainIntervalMs: env.RETRAIN_INTERVAL_MS,
    retrainMaxRows: env.RETRAIN_MAX_ROWS,
    promotion: env.PROMOTION || undefined,
    modelsDir: env.MODELS_DIR,
    retentionDays: env.RETENTION_DAYS,
    retentionMaxRows: env.RETENTION_MAX_ROWS,
    retentionIntervalMs: env.RETENTION_INTERVAL_MS,
    retentionBatchSize: env.RETENTION_BATCH_SIZE,
    aggregateFoldMs: env.AGGREGATE_FOLD_MS,
    heartbeatMs: env.STREAM_HEARTBEAT_MS,
    evidenceCacheMs: env.EVIDENCE_CACHE_MS,
    recommendationLogFlushMs: env.RECOMMENDATION_LOG_FLUSH_MS,
    authTokens: env.AUTH_TOKENS,
    authTokensFile: env.AUTH_TOKENS_FILE,
    tlsCertFile: env.TLS_CERT_FILE,
    tlsKeyFile: env.TLS_KEY_FILE,
    tlsClientCaFile: env.TLS_CLIENT_CA_FILE,
    logLevel: env.LOG_LEVEL,
  };
  const merged = { ...dropUndefined(fromEnv), ...dropUndefined(overrides) };
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== "")) as Partial<T>;
}
