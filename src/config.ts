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
  /** Data directory of the embedded PostgreSQL. */
  embeddedDataDir: z.string().min(1).default("./.data/pg"),
  /** Port of the embedded PostgreSQL. */
  embeddedPort: port.default(54329),
  /** Largest number of pooled database connections. */
  poolSize: z.coerce.number().int().min(1).max(200).default(10),
  /** How long graceful shutdown waits for in-flight calls before cutting them, in ms. */
  shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
  /** Largest accepted request message, bytes. */
  maxMessageBytes: z.coerce.number().int().min(1024).default(8 * 1024 * 1024),
  /** Executions committed per transaction by the bulk RPCs. */
  bulkBatchSize: z.coerce.number().int().min(1).max(5_000).default(500),
  /** Automatic analysis once this many executions arrived since the last run (fleet-wide). */
  analysisEveryExecutions: z.coerce.number().int().min(1).default(500),
  /** Automatic analysis at least this often while anything new arrives, ms. */
  analysisIntervalMs: z.coerce.number().int().min(1000).default(60_000),
  /** Automatic retraining once this many executions arrived since the last one (fleet-wide). */
  retrainEveryExecutions: z.coerce.number().int().min(1).default(2_000),
  /** Automatic retraining at least this often while anything new arrives, ms. */
  retrainIntervalMs: z.coerce.number().int().min(1000).default(30 * 60_000),
  /** Most recent executions a retraining learns from. */
  retrainMaxRows: z.coerce.number().int().min(100).default(200_000),
  /** Idle time after which an insight stream sends a heartbeat, ms. */
  heartbeatMs: z.coerce.number().int().min(100).default(15_000),
  /** How stale the per-task-type evidence behind predictions may get before a refresh, ms. */
  evidenceCacheMs: z.coerce.number().int().min(0).default(1_000),
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
    embeddedDataDir: env.EMBEDDED_PG_DIR,
    embeddedPort: env.EMBEDDED_PG_PORT,
    poolSize: env.DATABASE_POOL_SIZE,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    maxMessageBytes: env.MAX_MESSAGE_BYTES,
    bulkBatchSize: env.BULK_BATCH_SIZE,
    analysisEveryExecutions: env.ANALYSIS_EVERY_EXECUTIONS,
    analysisIntervalMs: env.ANALYSIS_INTERVAL_MS,
    retrainEveryExecutions: env.RETRAIN_EVERY_EXECUTIONS,
    retrainIntervalMs: env.RETRAIN_INTERVAL_MS,
    retrainMaxRows: env.RETRAIN_MAX_ROWS,
    heartbeatMs: env.STREAM_HEARTBEAT_MS,
    evidenceCacheMs: env.EVIDENCE_CACHE_MS,
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
