import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

const AccuracyRow = z.object({
  evaluated: z.bigint(),
  brier: z.number().nullable(),
  observed: z.number().nullable(),
  predicted: z.number().nullable(),
});

/** How well issued recommendations predicted the outcomes later recorded with their ids. */
export type Accuracy = z.infer<typeof AccuracyRow>;

/** Brier score and calibration of past recommendations that were followed and recorded. */
export async function readAccuracy(db: CommonQueryMethods): Promise<Accuracy> {
  return db.one(sql.type(AccuracyRow)`
    SELECT count(*) AS evaluated,
      avg(power(r.success_probability - e.success::int, 2)) AS brier,
      avg(e.success::int)::float8 AS observed,
      avg(r.success_probability) AS predicted
    FROM executions e JOIN recommendations r ON r.recommendation_id = e.recommendation_id`);
}

const ObservationRow = z.object({
  compared: z.bigint(),
  agreement: z.number().nullable(),
  caller_success: z.number().nullable(),
  service_estimated: z.number().nullable(),
});

/** The evidence for promoting the service out of observation mode. */
export type ObservationStats = z.infer<typeof ObservationRow>;

/** Agreement between the service's picks and the callers' own teams in observation mode, and how each fared. */
export async function readObservationStats(db: CommonQueryMethods): Promise<ObservationStats> {
  return db.one(sql.type(ObservationRow)`
    SELECT count(*) AS compared,
      avg((r.caller_agent_set = r.service_agent_set)::int)::float8 AS agreement,
      avg(e.success::int) FILTER (WHERE r.caller_agent_set <> r.service_agent_set)::float8 AS caller_success,
      avg(r.service_success_probability) FILTER (WHERE r.caller_agent_set <> r.service_agent_set) AS service_estimated
    FROM recommendations r LEFT JOIN executions e ON e.recommendation_id = r.recommendation_id
    WHERE r.mode = 'observation'`);
}
