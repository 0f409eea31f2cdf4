import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

/** Newest executions the report covers, so its cost stays bounded however long the history. */
export const SUCCESS_LOOKBACK = 50_000;

const BucketRow = z.object({
  task_type: z.string(),
  bucket: z.number().int(),
  followed: z.boolean(),
  executions: z.bigint(),
  successes: z.bigint(),
  first_us: z.bigint(),
  last_us: z.bigint(),
  total: z.bigint(),
});

/** Counts per task type, time bucket (1..buckets) and followed-or-not, with the time range they span. */
export interface SuccessCounts {
  /** Time of the oldest and newest execution considered, µs since the epoch; null when none. */
  firstUs: bigint | null;
  lastUs: bigint | null;
  /** Executions considered. */
  executions: bigint;
  rows: readonly Pick<z.infer<typeof BucketRow>, "task_type" | "bucket" | "followed" | "executions" | "successes">[];
}

/**
 * Success counts of the newest executions in equal time buckets, split by whether each execution
 * followed a recommendation: recorded with the id of a recommendation the service applied, and
 * with the team it recommended (an execution that carried the id but ran another team did not
 * follow it).
 */
export async function readSuccessOverTime(db: CommonQueryMethods, taskType: string | undefined, buckets: number): Promise<SuccessCounts> {
  const filter = taskType === undefined ? sql.fragment`true` : sql.fragment`task_type = ${taskType}`;
  // One statement, so the time range and the counts come from the same snapshot.
  const rows = await db.any(sql.type(BucketRow)`
    WITH recent AS (
      SELECT e.task_type, e.success, (extract(epoch FROM e.recorded_at) * 1000000)::bigint AS at_us,
        EXISTS (SELECT 1 FROM recommendations r WHERE r.recommendation_id = e.recommendation_id
          AND r.applied AND r.agent_set = e.agent_set) AS followed
      FROM executions e WHERE ${filter} ORDER BY e.seq DESC LIMIT ${SUCCESS_LOOKBACK}
    ), span AS (SELECT min(at_us) AS first_us, max(at_us) AS last_us, count(*) AS total FROM recent)
    SELECT task_type, bucket, followed, count(*) AS executions, count(*) FILTER (WHERE success) AS successes,
      first_us, last_us, total
    FROM (SELECT r.task_type, r.success, r.followed, s.first_us, s.last_us, s.total,
        1 + floor(${buckets} * (r.at_us - s.first_us)::float8 / (s.last_us - s.first_us + 1))::int AS bucket
      FROM recent r, span s) b
    GROUP BY task_type, bucket, followed, first_us, last_us, total`);
  const first = rows[0];
  if (first === undefined) return { firstUs: null, lastUs: null, executions: 0n, rows: [] };
  return { firstUs: first.first_us, lastUs: first.last_us, executions: first.total, rows };
}
