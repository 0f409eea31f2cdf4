import { type CommonQueryMethods, type DatabasePool, sql } from "slonik";
import { z } from "zod";

/**
 * The columns of `executions` the aggregates are computed from, defined beside the statements
 * that read them: an insert returns these for `deltaInsert` to append as `execution_deltas`.
 */
export const aggregatedColumns = sql.fragment`recorded_at, task_type, agents, agent_set, success, duration_seconds,
        complexity, user_satisfaction, error_message`;

/**
 * The running aggregates' share of the ingest statement: one CTE appending a delta row for each
 * execution in the relation `inserted` (the rows the statement has just stored). It is an append
 * to a heap with no index, so ingest never waits on an aggregate key another batch or replica
 * holds; `foldAggregateDeltas` moves the deltas into the sums later, and the aggregate views read
 * sums plus deltas. An execution that was not stored has no delta, so it is counted nowhere.
 */
export const deltaInsert = sql.fragment`
    deltas AS (
      INSERT INTO execution_deltas (task_type, agents, agent_set, success, duration_seconds,
        complexity, user_satisfaction, error_message, recorded_at)
      SELECT task_type, agents, agent_set, success, duration_seconds, complexity, user_satisfaction,
        -- Only failures' messages are counted, cut as combination_errors keys them.
        CASE WHEN success THEN '' ELSE left(error_message, 500) END, recorded_at
      FROM inserted
    )`;

/** Key of the advisory lock held while a replica folds deltas: no delta is folded twice. */
export const FOLD_LOCK_KEY = 7_461_239_008;

/**
 * The fold's upserts: CTEs that add the relation `fresh` (deltas just deleted, with
 * `log_duration`) into every `*_folded` table, one set-based upsert per table, keys in sorted
 * order.
 */
const foldUpserts = sql.fragment`
    task_types AS (
      INSERT INTO task_type_stats_folded AS t (task_type, executions, successes, duration_sum,
        log_duration_sum, log_duration_sq_sum, complexity_sum, last_recorded_at)
      SELECT task_type, count(*), count(*) FILTER (WHERE success), sum(duration_seconds),
        sum(log_duration), sum(log_duration * log_duration), sum(complexity), max(recorded_at)
      FROM fresh GROUP BY task_type ORDER BY task_type
      ON CONFLICT (task_type) DO UPDATE SET
        executions = t.executions + excluded.executions,
        successes = t.successes + excluded.successes,
        duration_sum = t.duration_sum + excluded.duration_sum,
        log_duration_sum = t.log_duration_sum + excluded.log_duration_sum,
        log_duration_sq_sum = t.log_duration_sq_sum + excluded.log_duration_sq_sum,
        complexity_sum = t.complexity_sum + excluded.complexity_sum,
        last_recorded_at = greatest(t.last_recorded_at, excluded.last_recorded_at)
    ),
    per_agent AS (
      INSERT INTO agent_stats_folded AS s (task_type, agent, executions, successes, duration_sum,
        log_duration_sum, log_duration_sq_sum, complexity_sum, last_recorded_at)
      SELECT f.task_type, a.agent, count(*), count(*) FILTER (WHERE f.success),
        sum(f.duration_seconds), sum(f.log_duration), sum(f.log_duration * f.log_duration),
        sum(f.complexity), max(f.recorded_at)
      FROM fresh f CROSS JOIN LATERAL unnest(f.agents) AS a(agent)
      GROUP BY f.task_type, a.agent ORDER BY f.task_type, a.agent
      ON CONFLICT (task_type, agent) DO UPDATE SET
        executions = s.executions + excluded.executions,
        successes = s.successes + excluded.successes,
        duration_sum = s.duration_sum + excluded.duration_sum,
        log_duration_sum = s.log_duration_sum + excluded.log_duration_sum,
        log_duration_sq_sum = s.log_duration_sq_sum + excluded.log_duration_sq_sum,
        complexity_sum = s.complexity_sum + excluded.complexity_sum,
        last_recorded_at = greatest(s.last_recorded_at, excluded.last_recorded_at)
    ),
    per_combination AS (
      INSERT INTO combination_stats_folded AS c (task_type, agent_set, agents, executions, successes,
        duration_sum, log_duration_sum, log_duration_sq_sum, complexity_sum, satisfaction_sum,
        satisfaction_count, last_recorded_at)
      -- agent_set is the sorted names joined with ','; names never contain one.
      SELECT task_type, agent_set, string_to_array(agent_set, ','), count(*), count(*) FILTER (WHERE success),
        sum(duration_seconds), sum(log_duration), sum(log_duration * log_duration),
        sum(complexity), coalesce(sum(user_satisfaction), 0), count(user_satisfaction),
        max(recorded_at)
      FROM fresh GROUP BY task_type, agent_set ORDER BY task_type, agent_set
      ON CONFLICT (task_type, agent_set) DO UPDATE SET
        executions = c.executions + excluded.executions,
        successes = c.successes + excluded.successes,
        duration_sum = c.duration_sum + excluded.duration_sum,
        log_duration_sum = c.log_duration_sum + excluded.log_duration_sum,
        log_duration_sq_sum = c.log_duration_sq_sum + excluded.log_duration_sq_sum,
        complexity_sum = c.complexity_sum + excluded.complexity_sum,
        satisfaction_sum = c.satisfaction_sum + excluded.satisfaction_sum,
        satisfaction_count = c.satisfaction_count + excluded.satisfaction_count,
        last_recorded_at = greatest(c.last_recorded_at, excluded.last_recorded_at)
    ),
    per_sequence AS (
      INSERT INTO sequence_stats_folded AS q (task_type, agent_sequence, agent_set, executions, successes,
        duration_sum, last_recorded_at)
      SELECT task_type, agents, min(agent_set), count(*), count(*) FILTER (WHERE success),
        sum(duration_seconds), max(recorded_at)
      FROM fresh GROUP BY task_type, agents ORDER BY task_type, agents
      ON CONFLICT (task_type, agent_sequence) DO UPDATE SET
        executions = q.executions + excluded.executions,
        successes = q.successes + excluded.successes,
        duration_sum = q.duration_sum + excluded.duration_sum,
        last_recorded_at = greatest(q.last_recorded_at, excluded.last_recorded_at)
    ),
    per_error AS (
      INSERT INTO combination_errors_folded AS e (task_type, agent_set, error_message, occurrences)
      SELECT task_type, agent_set, left(error_message, 500), count(*)
      FROM fresh WHERE NOT success AND error_message <> ''
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (task_type, agent_set, error_message) DO UPDATE SET
        occurrences = e.occurrences + excluded.occurrences
    )`;

const FoldedRow = z.object({ folded: z.number() });

/**
 * Folds up to `limit` deltas into the aggregate sums in ONE transaction: the deltas it deletes
 * and the sums it adds commit together, so a reader of the views (sums plus deltas, one snapshot)
 * never sees an execution twice or not at all, and a crash mid-fold leaves the deltas in place.
 * Only the replica holding the fold lock folds; the others return 0 at once. Returns how many
 * deltas were folded (fewer than `limit`: none were left, as far as this transaction saw).
 */
export async function foldAggregateDeltas(pool: DatabasePool, limit: number): Promise<number> {
  return pool.transaction(async (tx) => {
    if (!(await tryFoldLock(tx))) return 0;
    const row = await tx.one(sql.type(FoldedRow)`
      WITH fresh AS (
        -- A slice by physical position: the table has no key, and no other writer deletes.
        DELETE FROM execution_deltas
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM execution_deltas LIMIT ${limit}))
        RETURNING *, ln(1 + duration_seconds) AS log_duration
      ),
      ${foldUpserts}
      SELECT count(*)::int AS folded FROM fresh`);
    return row.folded;
  });
}

/**
 * Vacuums the delta table: each fold leaves the deltas it deleted as dead rows, and the views scan
 * the whole heap, so between autovacuum's visits (a minute apart by default) a busy ingest would
 * grow it by every delta of that minute. A role that does not own the table gets a warning from
 * PostgreSQL and nothing happens, which autovacuum then covers; a vacuum already running is not waited for.
 */
export async function vacuumAggregateDeltas(pool: DatabasePool): Promise<void> {
  await pool.query(sql.type(z.object({}))`VACUUM (SKIP_LOCKED) execution_deltas`);
}

async function tryFoldLock(tx: CommonQueryMethods): Promise<boolean> {
  const row = await tx.one(sql.type(z.object({ locked: z.boolean() }))`SELECT pg_try_advisory_xact_lock(${FOLD_LOCK_KEY}) AS locked`);
  return row.locked;
}
