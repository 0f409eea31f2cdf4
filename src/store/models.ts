import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

/** The channel announcing a model activation to every replica (payload: the version). */
export const MODELS_CHANNEL = "agent_learning_models";

/** Class of the per-kind advisory lock held while a version is activated. */
const ACTIVATION_LOCK_KEY = 74_612;

/** Key of the advisory lock held while a replica retrains: one training at a time, fleet-wide. */
export const RETRAIN_LOCK_KEY = 7_461_239_003;

export const ModelKindSchema = z.enum(["success", "duration"]);
export type ModelKind = z.infer<typeof ModelKindSchema>;

const ModelSummaryRow = z.object({
  version: z.string(),
  kind: ModelKindSchema,
  status: z.enum(["active", "inactive", "rejected"]),
  metrics: z.record(z.string(), z.number()),
  training_rows: z.bigint(),
  window_start_us: z.bigint().nullable(),
  window_end_us: z.bigint().nullable(),
  rejection_reason: z.string().nullable(),
  created_at_us: z.bigint(),
});
/** A model version without its bytes, for listings. */
export type ModelSummary = z.infer<typeof ModelSummaryRow>;

const ModelRow = ModelSummaryRow.extend({
  onnx: z.instanceof(Buffer),
  ensemble: z.unknown(),
  feature_map: z.unknown(),
});
/** A model version with everything needed to serve it. */
export type ModelRecord = z.infer<typeof ModelRow>;

const summaryColumns = sql.fragment`
  version, kind, status, metrics, training_rows,
  (extract(epoch FROM window_start) * 1000000)::bigint AS window_start_us,
  (extract(epoch FROM window_end) * 1000000)::bigint AS window_end_us,
  rejection_reason,
  (extract(epoch FROM created_at) * 1000000)::bigint AS created_at_us`;

/** A new version to store. */
export interface NewModelVersion {
  version: string;
  kind: ModelKind;
  status: "inactive" | "rejected";
  onnx: Uint8Array;
  ensemble: unknown;
  featureMap: unknown;
  metrics: Record<string, number>;
  trainingRows: number;
  windowStartUs: bigint | null;
  windowEndUs: bigint | null;
  rejectionReason: string | null;
}

/** Stores a trained version (inactive or rejected; activation is a separate step). */
export async function insertModelVersion(db: CommonQueryMethods, m: NewModelVersion): Promise<void> {
  await db.query(sql.type(z.object({}))`
    INSERT INTO model_versions (version, kind, status, onnx, ensemble, feature_map, metrics,
      training_rows, window_start, window_end, rejection_reason)
    VALUES (${m.version}, ${m.kind}, ${m.status}, ${sql.binary(Buffer.from(m.onnx))},
      ${sql.jsonb(m.ensemble as never)}, ${sql.jsonb(m.featureMap as never)}, ${sql.jsonb(m.metrics)},
      ${m.trainingRows},
      'epoch'::timestamptz + ${m.windowStartUs?.toString() ?? null}::bigint * interval '1 microsecond',
      'epoch'::timestamptz + ${m.windowEndUs?.toString() ?? null}::bigint * interval '1 microsecond',
      ${m.rejectionReason})`);
}

/**
 * Makes a version the active one of its kind (the previous one becomes inactive), records the
 * activation in the history (`forced`: made without judging evidence, ActivateModel's way), and
 * announces it: every replica swaps to it when the NOTIFY arrives. Inside a caller's transaction
 * it runs as a savepoint of it.
 */
export async function activateModelVersion(
  db: CommonQueryMethods,
  version: string,
  reason: string,
  options: { forced?: boolean } = {},
): Promise<ModelSummary | null> {
  return db.transaction(async (tx) => {
    const target = await tx.maybeOne(sql.type(z.object({ kind: ModelKindSchema, status: z.string() }))`
      SELECT kind, status FROM model_versions WHERE version = ${version} FOR UPDATE`);
    if (!target) return null;
    if (target.status === "rejected") throw new RejectedModelError(version);
    // Serialise activations of one kind (from any replica): two at once would both deactivate the
    // other's predecessor and collide on "one active per kind".
    await tx.query(sql.type(z.object({}))`SELECT pg_advisory_xact_lock(${ACTIVATION_LOCK_KEY}, hashtext(${target.kind}))`);
    await tx.query(sql.type(z.object({}))`
      UPDATE model_versions SET status = 'inactive' WHERE kind = ${target.kind} AND status = 'active' AND version <> ${version}`);
    await tx.query(sql.type(z.object({}))`UPDATE model_versions SET status = 'active' WHERE version = ${version}`);
    await tx.query(sql.type(z.object({}))`
      INSERT INTO model_activations (version, kind, reason, forced)
      VALUES (${version}, ${target.kind}, ${reason}, ${options.forced ?? false})`);
    await tx.query(sql.type(z.object({}))`SELECT pg_notify(${MODELS_CHANNEL}, ${version})`);
    return tx.one(sql.type(ModelSummaryRow)`SELECT ${summaryColumns} FROM model_versions WHERE version = ${version}`);
  });
}

/** A rejected version cannot be activated: it failed the quality gate. */
export class RejectedModelError extends Error {
  constructor(readonly version: string) {
    super(`model ${version} was rejected by the quality gate and cannot be activated`);
  }
}

/** Versions, newest first, optionally filtered. */
export async function listModelVersions(
  db: CommonQueryMethods,
  filter: { kind?: ModelKind; status?: string },
): Promise<readonly ModelSummary[]> {
  const conditions = [sql.fragment`true`];
  if (filter.kind) conditions.push(sql.fragment`kind = ${filter.kind}`);
  if (filter.status) conditions.push(sql.fragment`status = ${filter.status}`);
  return db.any(sql.type(ModelSummaryRow)`
    SELECT ${summaryColumns} FROM model_versions WHERE ${sql.join(conditions, sql.fragment` AND `)}
    ORDER BY created_at DESC, version DESC LIMIT 500`);
}

/** Versions created after a moment (µs since the epoch, PostgreSQL's clock), newest first. */
export async function listModelVersionsCreatedAfter(db: CommonQueryMethods, afterUs: bigint): Promise<readonly ModelSummary[]> {
  return db.any(sql.type(ModelSummaryRow)`
    SELECT ${summaryColumns} FROM model_versions
    WHERE created_at > 'epoch'::timestamptz + ${afterUs.toString()}::bigint * interval '1 microsecond'
    ORDER BY created_at DESC, version DESC LIMIT 500`);
}

/** When a version first became active (µs since the epoch), or null when it never did. */
export async function readFirstActivation(db: CommonQueryMethods, version: string): Promise<bigint | null> {
  const row = await db.one(sql.type(z.object({ at_us: z.bigint().nullable() }))`
    SELECT (extract(epoch FROM min(activated_at)) * 1000000)::bigint AS at_us FROM model_activations WHERE version = ${version}`);
  return row.at_us;
}

/** Every version that has ever been active, oldest activation first. */
export async function listActivatedVersions(db: CommonQueryMethods): Promise<readonly string[]> {
  const rows = await db.any(sql.type(z.object({ version: z.string() }))`
    SELECT version FROM model_activations GROUP BY version ORDER BY min(activated_at), version`);
  return rows.map((r) => r.version);
}

/** One version with its bytes. */
export async function readModelVersion(db: CommonQueryMethods, version: string): Promise<ModelRecord | null> {
  return db.maybeOne(sql.type(ModelRow)`
    SELECT ${summaryColumns}, onnx, ensemble, feature_map FROM model_versions WHERE version = ${version}`);
}

/** The active version of each kind, with bytes. */
export async function readActiveModels(db: CommonQueryMethods): Promise<readonly ModelRecord[]> {
  return db.any(sql.type(ModelRow)`
    SELECT ${summaryColumns}, onnx, ensemble, feature_map FROM model_versions WHERE status = 'active'`);
}

const TrainingRow = z.object({
  seq: z.bigint(),
  task_type: z.string(),
  agents: z.array(z.string()),
  complexity: z.number(),
  success: z.boolean(),
  duration_seconds: z.number(),
  recorded_at_us: z.bigint(),
});
/** One execution as training reads it. */
export type TrainingRow = z.infer<typeof TrainingRow>;

/** A page of the most recent executions for training, oldest first after `afterSeq` (keyset). */
export async function readTrainingPage(
  db: CommonQueryMethods,
  fromSeq: bigint,
  afterSeq: bigint,
  limit: number,
): Promise<readonly TrainingRow[]> {
  return db.any(sql.type(TrainingRow)`
    SELECT seq, task_type, agents, complexity, success, duration_seconds,
      (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at_us
    FROM executions WHERE seq >= ${fromSeq.toString()}::bigint AND seq > ${afterSeq.toString()}::bigint
    ORDER BY seq LIMIT ${limit}`);
}

/** The first sequence number of the newest `rows` executions (the training window's start). */
export async function trainingWindowStart(db: CommonQueryMethods, rows: number): Promise<bigint> {
  const row = await db.one(sql.type(z.object({ seq: z.bigint() }))`
    SELECT coalesce(min(seq), 0)::bigint AS seq FROM (SELECT seq FROM executions ORDER BY seq DESC LIMIT ${rows}) newest`);
  return row.seq;
}

const DueRow = z.object({ total: z.bigint(), trained: z.bigint(), since_ms: z.number().nullable() });

/** Executions recorded since the last training and how long ago it ran (null: never). */
export async function readRetrainDue(db: CommonQueryMethods): Promise<{ newExecutions: bigint; sinceLastRunMs: number | null }> {
  const row = await db.one(sql.type(DueRow)`
    SELECT coalesce((SELECT sum(executions) FROM task_type_stats), 0)::bigint AS total,
      trained_executions AS trained,
      (extract(epoch FROM clock_timestamp() - last_run_at) * 1000)::float8 AS since_ms
    FROM retrain_state`);
  return { newExecutions: row.total - row.trained, sinceLastRunMs: row.since_ms };
}

/** Records that training covered everything recorded so far. */
export async function markTrained(db: CommonQueryMethods): Promise<void> {
  await db.query(sql.type(z.object({}))`
    UPDATE retrain_state SET trained_executions = coalesce((SELECT sum(executions) FROM task_type_stats), 0),
      last_run_at = clock_timestamp()`);
}

/** Whether a version is the active one of its kind right now. */
export async function isActiveVersion(db: CommonQueryMethods, version: string): Promise<boolean> {
  const row = await db.maybeOne(sql.type(z.object({ active: z.boolean() }))`
    SELECT status = 'active' AS active FROM model_versions WHERE version = ${version}`);
  return row?.active ?? false;
}

/** The active version of a kind, or null. */
export async function activeVersionOf(db: CommonQueryMethods, kind: ModelKind): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ version: z.string() }))`
    SELECT version FROM model_versions WHERE kind = ${kind} AND status = 'active'`);
}
