import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

const StatusRow = z.object({
  execution_count: z.bigint(),
  success_count: z.bigint(),
  task_type_count: z.bigint(),
  combination_count: z.bigint(),
  agent_count: z.bigint(),
  last_recorded_at_us: z.bigint().nullable(),
});

/** Counts for GetStatus, read from the running aggregates so the cost does not grow with history. */
export type StoreCounts = z.infer<typeof StatusRow>;

/** Reads the figures GetStatus reports, in one round trip. */
export async function readCounts(db: CommonQueryMethods): Promise<StoreCounts> {
  // The aggregates are views (sums plus unfolded deltas): the task types are read in one pass, and
  // the teams are counted as the folded ones plus the new teams among the deltas, rather than by
  // grouping every team. One statement, one snapshot, so the figures agree with each other.
  return db.one(sql.type(StatusRow)`
    WITH task_types AS (
      SELECT coalesce(sum(executions), 0)::bigint AS executions, coalesce(sum(successes), 0)::bigint AS successes,
        count(*) AS task_types, max(last_recorded_at) AS last_recorded_at
      FROM task_type_stats
    )
    SELECT executions AS execution_count, successes AS success_count, task_types AS task_type_count,
      (SELECT count(*) FROM combination_stats_folded)
        + (SELECT count(*) FROM (SELECT DISTINCT task_type, agent_set FROM execution_deltas) d
           WHERE NOT EXISTS (SELECT 1 FROM combination_stats_folded f
                             WHERE f.task_type = d.task_type AND f.agent_set = d.agent_set)) AS combination_count,
      (SELECT count(*) FROM agents) AS agent_count,
      (extract(epoch FROM last_recorded_at) * 1000000)::bigint AS last_recorded_at_us
    FROM task_types`);
}

const SettingsRow = z.object({
  learning_mode: z.enum(["observation", "advisory", "adaptive", "autonomous"]),
  learning_enabled: z.boolean(),
});

/** The learning settings shared by every replica. */
export type LearningSettings = z.infer<typeof SettingsRow>;

/** Reads the persisted learning mode and switch. */
export async function readSettings(db: CommonQueryMethods): Promise<LearningSettings> {
  return db.one(sql.type(SettingsRow)`SELECT learning_mode, learning_enabled FROM service_settings`);
}
