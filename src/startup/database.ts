import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import type { Config } from "../config.js";
import { createDatabase } from "../store/create-database.js";
import { provisionEmbeddedAppRole } from "../store/embedded-app-role.js";
import { startEmbeddedPostgres } from "../store/embedded-postgres.js";
import { migrate } from "../store/migrate.js";
import { createStorePool, type StorePoolOptions } from "../store/pool.js";

/** Name of the database the service creates inside the embedded PostgreSQL. */
const EMBEDDED_DATABASE = "agent_learning";

/** The database the service runs on, and how to let go of it. */
export interface ProvidedDatabase {
  /** The OWNER's URL (it runs migrations); `serviceDatabaseUrl` says what the queries run as. */
  url: string;
  stop(): Promise<void>;
}

/** Resolves the database to use: the configured one, or an embedded PostgreSQL started now. */
export async function provideDatabase(config: Config, log: Logger): Promise<ProvidedDatabase> {
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

/** Applies pending migrations, logging what it applied; returns the schema version now current. */
export async function migrateSchema(ownerUrl: string, log: Logger): Promise<number> {
  const { applied, current } = await migrate(ownerUrl);
  if (applied.length > 0) log.info({ applied, current }, "migrations applied");
  return current;
}

/**
 * The connection the service's own queries use (pools, LISTEN, the retrain worker):
 * APP_DATABASE_URL when given; for the embedded default, its `agent_learning_app` role, set up now
 * (after the migrations, so the grants cover every table); else DATABASE_URL itself, the
 * single-role mode, in which a compromised service could also alter or drop the schema.
 */
export async function serviceDatabaseUrl(config: Config, ownerUrl: string, log: Logger): Promise<string> {
  if (config.appDatabaseUrl) {
    if (!config.databaseUrl) throw new Error("APP_DATABASE_URL needs DATABASE_URL (the owner role that runs migrations)");
    return config.appDatabaseUrl;
  }
  if (!config.databaseUrl) return provisionEmbeddedAppRole(ownerUrl, config.embeddedDataDir);
  log.info("single-role mode: queries run as the DATABASE_URL role; set APP_DATABASE_URL to run them with least privilege");
  return ownerUrl;
}

/** The service's pool, or its small pool for recommendation logs whose commits skip the WAL flush. */
export async function openPool(serviceUrl: string, options: StorePoolOptions, log: Logger): Promise<DatabasePool> {
  const pool = await createStorePool(serviceUrl, options);
  // An idle connection dropped by PostgreSQL surfaces here; the pool replaces it on next use.
  pool.on("error", (error) =>
    log.warn({ err: error }, "database pool error (an idle connection may have been dropped; the pool replaces it)"),
  );
  return pool;
}
