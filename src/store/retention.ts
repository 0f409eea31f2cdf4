import { type CommonQueryMethods, type DatabaseConnection, type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";

// Retention deletes raw executions only. The running aggregates (task type, agent, combination,
// sequence, error) are left alone, so what was learned survives: GetStatus counts and analysis
// come from the aggregates, and the recent-window rules simply see the executions that remain.

/** Key of the advisory lock held while a process deletes executions: one retention run at a time, fleet-wide. */
export const RETENTION_LOCK_KEY = 7_461_239_004;

/** Which executions may go; either limit, or both (an execution goes when either says so). */
export interface RetentionPolicy {
  /** Delete executions recorded more than this many days ago. */
  maxAgeDays?: number;
  /** Keep at most this many of the newest executions (by insertion order). */
  maxRows?: number;
}

/**
 * The executions a run deletes, fixed when it starts: every one up to `lastSeq` that is beyond
 * the newest `maxRows` or recorded before the age cutoff. Executions recorded during the run have
 * higher sequence numbers and are never touched.
 */
export interface RetentionPlan {
  /** Executions with seq ≤ this are beyond the newest `maxRows` (null: no row limit, or within it). */
  rowCutoffSeq: bigint | null;
  /** Executions recorded before this instant (µs since the epoch) are too old (null: no age limit). */
  recordedBeforeUs: bigint | null;
  /** The highest sequence number the run may delete (null: nothing to delete). */
  lastSeq: bigint | null;
}

const PlanRow = z.object({
  row_cutoff_seq: z.bigint().nullable(),
  recorded_before_us: z.bigint().nullable(),
  last_seq: z.bigint().nullable(),
});

/** Fixes what a retention run will delete, in one statement (index scans on seq and recorded_at). */
export async function planRetention(db: CommonQueryMethods, policy: RetentionPolicy): Promise<RetentionPlan> {
  const rowCutoff =
    policy.maxRows === undefined
      ? sql.fragment`NULL::bigint`
      : sql.fragment`(SELECT seq FROM executions ORDER BY seq DESC OFFSET ${policy.maxRows} LIMIT 1)`;
  const ageCutoff =
    policy.maxAgeDays === undefined
      ? sql.fragment`NULL::timestamptz`
      : sql.fragment`clock_timestamp() - ${policy.maxAgeDays}::float8 * interval '1 day'`;
  const row = await db.one(sql.type(PlanRow)`
    WITH limits AS (SELECT ${rowCutoff} AS row_cutoff_seq, ${ageCutoff} AS recorded_before)
    SELECT row_cutoff_seq,
      (extract(epoch FROM recorded_before) * 1000000)::bigint AS recorded_before_us,
      greatest(row_cutoff_seq, (SELECT max(seq) FROM executions WHERE recorded_at < recorded_before)) AS last_seq
    FROM limits`);
  return { rowCutoffSeq: row.row_cutoff_seq, recordedBeforeUs: row.recorded_before_us, lastSeq: row.last_seq };
}

/** The condition naming the plan's executions; a plan with nothing to delete matches no row. */
function doomed(plan: RetentionPlan): FragmentSqlToken {
  const reasons: FragmentSqlToken[] = [];
  if (plan.rowCutoffSeq !== null) reasons.push(sql.fragment`seq <= ${plan.rowCutoffSeq.toString()}::bigint`);
  if (plan.recordedBeforeUs !== null) {
    reasons.push(sql.fragment`recorded_at < 'epoch'::timestamptz + ${plan.recordedBeforeUs.toString()}::bigint * interval '1 microsecond'`);
  }
  if (plan.lastSeq === null || reasons.length === 0) return sql.fragment`false`;
  return sql.fragment`seq <= ${plan.lastSeq.toString()}::bigint AND (${sql.join(reasons, sql.fragment` OR `)})`;
}

const SummaryRow = z.object({
  executions: z.bigint(),
  oldest_us: z.bigint().nullable(),
  newest_us: z.bigint().nullable(),
});

/** How many executions a plan covers and when they were recorded. */
export interface RetentionSummary {
  executions: bigint;
  oldestRecordedAtUs: bigint | null;
  newestRecordedAtUs: bigint | null;
}

/** Counts what a plan would delete, deleting nothing: the dry run. */
export async function summarizeRetention(db: CommonQueryMethods, plan: RetentionPlan): Promise<RetentionSummary> {
  const row = await db.one(sql.type(SummaryRow)`
    SELECT count(*) AS executions,
      (extract(epoch FROM min(recorded_at)) * 1000000)::bigint AS oldest_us,
      (extract(epoch FROM max(recorded_at)) * 1000000)::bigint AS newest_us
    FROM executions WHERE ${doomed(plan)}`);
  return { executions: row.executions, oldestRecordedAtUs: row.oldest_us, newestRecordedAtUs: row.newest_us };
}

const BatchRow = SummaryRow.extend({ last_seq: z.bigint().nullable() });

/** What one batch deleted; `lastSeq` null means the plan is done. */
export interface RetentionBatch extends RetentionSummary {
  /** The highest sequence number the batch covered: the next batch starts after it. */
  lastSeq: bigint | null;
}

/**
 * Deletes the next `limit` executions of the plan after `afterSeq`, oldest first, in ONE
 * statement (its own short transaction when run outside one): the rows it locks are old ones no
 * ingest touches, so recording goes on meanwhile.
 */
export async function deleteRetentionBatch(
  db: CommonQueryMethods,
  plan: RetentionPlan,
  afterSeq: bigint,
  limit: number,
): Promise<RetentionBatch> {
  const row = await db.one(sql.type(BatchRow)`
    WITH batch AS (
      SELECT seq FROM executions
      WHERE seq > ${afterSeq.toString()}::bigint AND ${doomed(plan)}
      ORDER BY seq LIMIT ${limit}
    ),
    deleted AS (
      DELETE FROM executions e USING batch b WHERE e.seq = b.seq
      RETURNING e.execution_id, e.content_hash, e.seq, e.recorded_at
    ),
    retired AS (
      -- What ingestion needs to keep recognising re-sends of the deleted executions.
      INSERT INTO retired_executions (execution_id, content_hash, seq, recorded_at)
      SELECT execution_id, content_hash, seq, recorded_at FROM deleted
      ON CONFLICT (execution_id) DO NOTHING
    )
    SELECT (SELECT count(*) FROM deleted) AS executions,
      (SELECT (extract(epoch FROM min(recorded_at)) * 1000000)::bigint FROM deleted) AS oldest_us,
      (SELECT (extract(epoch FROM max(recorded_at)) * 1000000)::bigint FROM deleted) AS newest_us,
      (SELECT max(seq) FROM batch) AS last_seq`);
  return { executions: row.executions, oldestRecordedAtUs: row.oldest_us, newestRecordedAtUs: row.newest_us, lastSeq: row.last_seq };
}

const LockRow = z.object({ locked: z.boolean() });

/** Takes the fleet-wide retention lock on this session if free; false when another process holds it. */
export async function tryLockRetention(connection: DatabaseConnection): Promise<boolean> {
  const row = await connection.one(sql.type(LockRow)`SELECT pg_try_advisory_lock(${RETENTION_LOCK_KEY}) AS locked`);
  return row.locked;
}

/** Releases the retention lock taken by `tryLockRetention` on the same session. */
export async function unlockRetention(connection: DatabaseConnection): Promise<void> {
  await connection.query(sql.type(z.object({ unlocked: z.boolean() }))`SELECT pg_advisory_unlock(${RETENTION_LOCK_KEY}) AS unlocked`);
}
