import type { Logger } from "pino";
import type { DatabasePool } from "slonik";

/** What the RPC handlers need from the process: wired once in main.ts. */
export interface ServiceDependencies {
  pool: DatabasePool;
  log: Logger;
  /** Agent names known to be in the catalog table (it only grows): saves a round trip per record. */
  knownAgents: Set<string>;
  /** Executions committed per transaction by the bulk RPCs. */
  bulkBatchSize: number;
  /** When this process started serving, ms since the epoch. */
  startedAtMs: number;
  /** Whether the database answers and migrations are applied, as last observed. */
  isDatabaseReady(): boolean;
  /** The newest migration applied. */
  schemaVersion(): number;
}
