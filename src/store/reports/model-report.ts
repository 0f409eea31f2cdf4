import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { ModelKindSchema } from "../models.js";

const ActivationRow = z.object({
  version: z.string(),
  kind: ModelKindSchema,
  reason: z.string(),
  forced: z.boolean(),
  activated_at_us: z.bigint(),
  deactivated_at_us: z.bigint().nullable(),
});

/** Every activation, oldest first, with the time the next activation of its kind replaced it. */
export async function readActivations(db: CommonQueryMethods): Promise<readonly z.infer<typeof ActivationRow>[]> {
  return db.any(sql.type(ActivationRow)`
    SELECT version, kind, reason, forced,
      (extract(epoch FROM activated_at) * 1000000)::bigint AS activated_at_us,
      (extract(epoch FROM lead(activated_at) OVER (PARTITION BY kind ORDER BY activated_at, id)) * 1000000)::bigint AS deactivated_at_us
    FROM model_activations ORDER BY activated_at, id`);
}

const BinRow = z.object({ bin: z.number().int(), count: z.bigint(), predicted: z.number(), observed: z.number() });
const BrierRow = z.object({ evaluated: z.bigint(), brier: z.number().nullable() });

/**
 * Credited executions (recorded with the id of a recommendation the service issued, as
 * GetStatus.prediction_accuracy counts them) in equal-width bins of predicted success, and the Brier
 * score over all of them.
 */
export async function readCalibration(
  db: CommonQueryMethods,
  bins: number,
): Promise<{ evaluated: bigint; brier: number | null; bins: readonly z.infer<typeof BinRow>[] }> {
  const credited = sql.fragment`
    SELECT r.success_probability AS p, e.success::int AS y
    FROM executions e JOIN recommendations r ON r.recommendation_id = e.recommendation_id`;
  const [rows, total] = await Promise.all([
    db.any(sql.type(BinRow)`
      SELECT least(${bins} - 1, floor(p * ${bins}))::int AS bin, count(*) AS count,
        avg(p) AS predicted, avg(y)::float8 AS observed
      FROM (${credited}) c GROUP BY 1 ORDER BY 1`),
    db.one(sql.type(BrierRow)`SELECT count(*) AS evaluated, avg(power(p - y, 2)) AS brier FROM (${credited}) c`),
  ]);
  return { evaluated: total.evaluated, brier: total.brier, bins: rows };
}

const DurationRow = z.object({
  predicted: z.number(),
  actual: z.number(),
  task_type: z.string(),
  model_version: z.string().nullable(),
  recorded_at_us: z.bigint(),
});

/** The newest `limit` credited executions' predicted and actual durations, oldest first. */
export async function readDurationPoints(db: CommonQueryMethods, limit: number): Promise<readonly z.infer<typeof DurationRow>[]> {
  return db.any(sql.type(DurationRow)`
    SELECT * FROM (
      SELECT r.expected_duration_seconds AS predicted, e.duration_seconds AS actual, e.task_type,
        r.model_version, (extract(epoch FROM e.recorded_at) * 1000000)::bigint AS recorded_at_us
      FROM executions e JOIN recommendations r ON r.recommendation_id = e.recommendation_id
      ORDER BY e.seq DESC LIMIT ${limit}) newest
    ORDER BY recorded_at_us`);
}
