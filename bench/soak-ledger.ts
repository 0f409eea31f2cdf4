import { withClient } from "./database.js";

/** What the soak's database holds at the end, read with SQL rather than through the service. */
export interface SoakLedger {
  /** Rows in executions. */
  stored: number;
  /** Of the acknowledged ids, how many have a row: less than acknowledged means some were lost. */
  acknowledgedStored: number;
  /** Executions the running aggregates counted (task_type_stats): above stored means counted twice. */
  aggregated: number;
  /** Model versions written by the automatic retraining during the run. */
  modelVersions: number;
}

/**
 * Reads the ledger of the soak's database. The primary key already forbids a row stored twice,
 * so "none twice" is checked where a double count could still hide: the aggregates that every
 * acknowledged execution must have changed exactly once.
 */
export function readSoakLedger(databaseUrl: string, acknowledgedIds: readonly string[]): Promise<SoakLedger> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<Record<keyof SoakLedger, string>>(
      `SELECT
         (SELECT count(*) FROM executions) AS "stored",
         (SELECT count(*) FROM executions WHERE execution_id = ANY($1::text[])) AS "acknowledgedStored",
         (SELECT coalesce(sum(executions), 0) FROM task_type_stats) AS "aggregated",
         (SELECT count(*) FROM model_versions) AS "modelVersions"`,
      [acknowledgedIds],
    );
    const row = rows[0];
    if (!row) throw new Error("the ledger query returned no row");
    return {
      stored: Number(row.stored),
      acknowledgedStored: Number(row.acknowledgedStored),
      aggregated: Number(row.aggregated),
      modelVersions: Number(row.modelVersions),
    };
  });
}

/** What is wrong with the ledger, if anything: executions lost, stored unacknowledged, or counted twice. */
export function ledgerFailures(ledger: SoakLedger, acknowledged: number): string[] {
  const failures: string[] = [];
  if (ledger.acknowledgedStored !== acknowledged) {
    failures.push(`${acknowledged - ledger.acknowledgedStored} of ${acknowledged} acknowledged executions are missing from the database`);
  }
  if (ledger.stored !== acknowledged) failures.push(`the database holds ${ledger.stored} executions, ${acknowledged} were acknowledged`);
  if (ledger.aggregated !== ledger.stored)
    failures.push(`the aggregates counted ${ledger.aggregated} executions, ${ledger.stored} are stored`);
  return failures;
}

/** The newest position of the insight feed (0 when empty): where the soak's subscribers start. */
export function feedPosition(databaseUrl: string): Promise<bigint> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ seq: string }>("SELECT coalesce(max(seq), 0)::text AS seq FROM insight_events");
    return BigInt(rows[0]?.seq ?? "0");
  });
}

/** Feed events after `after` up to and including `upTo`: what a subscriber that reached `upTo` must have received. */
export function feedEventsBetween(databaseUrl: string, after: bigint, upTo: bigint): Promise<number> {
  return withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM insight_events WHERE seq > $1::bigint AND seq <= $2::bigint",
      [after.toString(), upTo.toString()],
    );
    return Number(rows[0]?.n ?? "0");
  });
}
