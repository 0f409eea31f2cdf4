import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

/** Key of the advisory lock held while analysis writes insights: one analysis at a time, fleet-wide. */
export const ANALYSIS_LOCK_KEY = 7_461_239_002;

const LockRow = z.object({ locked: z.boolean() });

/** Takes the fleet-wide analysis lock for this transaction if it is free; false when another run holds it. */
export async function tryLockAnalysis(tx: CommonQueryMethods): Promise<boolean> {
  const row = await tx.one(sql.type(LockRow)`SELECT pg_try_advisory_xact_lock(${ANALYSIS_LOCK_KEY}) AS locked`);
  return row.locked;
}

const DueRow = z.object({ total: z.bigint(), analyzed: z.bigint(), since_ms: z.number().nullable() });

/** How many executions arrived since the last analysis, and how long ago it ran (null: never). */
export async function readAnalysisDue(db: CommonQueryMethods): Promise<{ newExecutions: bigint; sinceLastRunMs: number | null }> {
  const row = await db.one(sql.type(DueRow)`
    SELECT coalesce((SELECT sum(executions) FROM task_type_stats), 0)::bigint AS total,
      analyzed_executions AS analyzed,
      (extract(epoch FROM clock_timestamp() - last_run_at) * 1000)::float8 AS since_ms
    FROM analysis_state`);
  return { newExecutions: row.total - row.analyzed, sinceLastRunMs: row.since_ms };
}

/** Records that analysis covered everything recorded so far. */
export async function markAnalysed(tx: CommonQueryMethods): Promise<bigint> {
  const row = await tx.one(sql.type(z.object({ total: z.bigint() }))`
    UPDATE analysis_state SET
      analyzed_executions = coalesce((SELECT sum(executions) FROM task_type_stats), 0),
      last_run_at = clock_timestamp()
    RETURNING analyzed_executions AS total`);
  return row.total;
}
