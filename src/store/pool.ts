import { createPool, type DatabasePool, type Interceptor, type QueryResultRow, SchemaValidationError } from "slonik";
import { createStoreDriverFactory } from "./driver/pg-driver.js";

/**
 * slonik's `sql.type(schema)` only attaches a zod schema to a query; this interceptor is what
 * actually validates (and transforms) every returned row against it, so a row type is a checked
 * fact rather than a cast.
 */
const validateRows: Interceptor = {
  name: "validate-rows",
  transformRow(context, query, row) {
    const parser = context.resultParser;
    if (!parser) return row;
    const parsed = parser.safeParse(row);
    if (!parsed.success) {
      throw new SchemaValidationError(query, row, parsed.error.issues);
    }
    return parsed.data as QueryResultRow;
  },
};

/** Options of the store's connection pool. */
export interface StorePoolOptions {
  /** Largest number of connections. */
  maximumPoolSize: number;
  /** application_name reported to PostgreSQL, to tell replicas and tools apart in pg_stat_activity. */
  applicationName?: string;
  /**
   * false: commits return before the WAL is flushed (synchronous_commit=off). Only for writes whose
   * loss in a PostgreSQL crash is tolerable (the last few hundred ms of recommendation logs),
   * never for executions.
   */
  synchronousCommit?: boolean;
}

/** Creates the one connection pool the service uses, with row validation on every query. */
export async function createStorePool(databaseUrl: string, options: StorePoolOptions): Promise<DatabasePool> {
  const url = new URL(databaseUrl);
  if (options.applicationName && !url.searchParams.has("application_name")) {
    url.searchParams.set("application_name", options.applicationName);
  }
  if (options.synchronousCommit === false) {
    const existing = url.searchParams.get("options");
    url.searchParams.set("options", `${existing ? `${existing} ` : ""}-c synchronous_commit=off`);
  }
  return createPool(url.toString(), {
    interceptors: [validateRows],
    // Lost connections and failed attempts must free their slots and fail their callers, or a
    // PostgreSQL crash under load wedges the pool (driver/pg-driver.ts).
    driverFactory: createStoreDriverFactory(),
    maximumPoolSize: options.maximumPoolSize,
    // Fail fast when PostgreSQL is gone so callers get UNAVAILABLE instead of hanging.
    connectionTimeout: 5_000,
    connectionRetryLimit: 1,
    idleTimeout: 30_000,
    // A pool.transaction (analysis, model publication) that fails with a deadlock or a
    // serialization failure is run again, up to 5 times. Single statements outside a transaction,
    // as ingest sends them, fall under slonik's queryRetryLimit instead (its default, also 5).
    transactionRetryLimit: 5,
    captureStackTrace: false,
    // slonik's default runs DISCARD ALL whenever a connection goes back to the pool: a round trip
    // after every query, and PostgreSQL's cached plans dropped each time (the follower loop of
    // 1,000 predict-and-record steps took 61–79 s with it, 42 s without). Nothing here leaves
    // session state on a pooled connection: no SET of its own, no temporary
    // tables, LISTEN and migrations on clients of their own, and the two session advisory locks
    // (retraining, retention) released in `finally`, where a failing release throws, so slonik
    // destroys the connection and PostgreSQL frees the lock with it.
    resetConnection: async () => {},
  });
}
