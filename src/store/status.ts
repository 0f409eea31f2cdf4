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
  return db.one(sql.type(StatusRow)`
    SELECT
      coalesce((SELECT sum(executions) FROM task_type_stats), 0)::bigint AS execution_count,
      coalesce((SELECT sum(successes) FROM task_type_stats), 0)::bigint AS success_count,
      (SELECT count(*) FROM task_type_stats) AS task_type_count,
      (SELECT count(*) FROM combination_stats) AS combination_count,
      (SELECT count(*) FROM agents) AS agent_count,
      (SELECT (extract(epoch FROM max(last_recorded_at)) * 1000000)::bigint FROM task_type_stats)
        AS last_recorded_at_us`);
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
