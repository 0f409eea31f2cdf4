// Child-process entry of a retraining: over its own connection it reads the active models and
// the training window from PostgreSQL, trains both models, checks each export's parity with
// onnxruntime, stores every version (inactive, or rejected with its reason) and sends back what
// serving needs. Everything heavy (parsing the stored trees and the rows, building the matrix,
// growing trees, writing ONNX, the parity run, serialising the trees for storage) happens here, in
// a process the parent runs at the lowest CPU priority, so the server's event loop never carries
// it: done in the server, the parse, parity and insert of the trees blocked it for tens of ms.
import type { DatabasePool } from "slonik";
import { FeatureMapSchema, TreeEnsembleSchema } from "../ml/model-schemas.js";
import { checkParity } from "../ml/parity.js";
import type { ActiveModel, TrainedModel } from "../ml/train-models.js";
import { trainModels } from "../ml/train-models.js";
import type { TrainingExample } from "../ml/training-set.js";
import { insertModelVersion, readActiveModels, readTrainingPage, trainingWindowStart } from "../store/models.js";
import { createStorePool } from "../store/pool.js";

/** What the service process sends the training child. */
export interface RetrainJob {
  databaseUrl: string;
  maxRows: number;
  versionStamp: string;
}

/** A version the child stored: what the service needs to activate and serve it. */
export type StoredVersion = Pick<TrainedModel, "version" | "kind" | "onnx" | "featureMap" | "metrics" | "rejection">;

/** What the training child answers. */
export type RetrainReply = { ok: true; models: StoredVersion[]; examples: number } | { ok: false; error: string };

const PAGE = 20_000;

async function run(job: RetrainJob): Promise<RetrainReply> {
  const pool = await createStorePool(job.databaseUrl, { maximumPoolSize: 1, applicationName: "agent-learning-retrain" });
  try {
    const examples = await readExamples(pool, job.maxRows);
    const models = trainModels(examples, await readActive(pool), job.versionStamp);
    const stored: StoredVersion[] = [];
    for (const model of models) stored.push(await store(pool, model));
    return { ok: true, models: stored, examples: examples.length };
  } finally {
    await pool.end();
  }
}

/** The active versions, which a new one must beat on the same holdout (the quality gate). */
async function readActive(pool: DatabasePool): Promise<{ success?: ActiveModel; duration?: ActiveModel }> {
  const active: { success?: ActiveModel; duration?: ActiveModel } = {};
  for (const record of await readActiveModels(pool)) {
    active[record.kind] = {
      version: record.version,
      ensemble: TreeEnsembleSchema.parse(record.ensemble),
      featureMap: FeatureMapSchema.parse(record.feature_map),
      windowEndUs: record.window_end_us ?? undefined,
    };
  }
  return active;
}

/**
 * Checks the export's parity (onnxruntime's output on validation rows must equal our own
 * evaluation of the trees within 1e-5) and stores the version with its figures: inactive, or
 * rejected with the reason of the gate or of the parity check.
 */
async function store(pool: DatabasePool, model: TrainedModel): Promise<StoredVersion> {
  let rejection = model.rejection;
  if (!rejection && model.parityRows > 0) {
    const parity = await checkParity(model.ensemble, model.onnx, model.parityFeatures, model.parityRows);
    model.metrics.onnx_parity_max_abs_diff = parity.maxAbsDiff;
    if (!parity.ok) rejection = `ONNX output differs from the trees by ${parity.maxAbsDiff} (> 1e-5)`;
  }
  await insertModelVersion(pool, {
    version: model.version,
    kind: model.kind,
    status: rejection ? "rejected" : "inactive",
    onnx: model.onnx,
    ensemble: model.ensemble,
    featureMap: model.featureMap,
    metrics: model.metrics,
    trainingRows: model.trainingRows,
    windowStartUs: model.windowStartUs,
    windowEndUs: model.windowEndUs,
    rejectionReason: rejection ?? null,
  });
  const { version, kind, onnx, featureMap, metrics } = model;
  return { version, kind, onnx, featureMap, metrics, rejection };
}

/** The most recent `maxRows` executions, oldest first, read in keyset pages. */
async function readExamples(pool: DatabasePool, maxRows: number): Promise<TrainingExample[]> {
  const examples: TrainingExample[] = [];
  const from = await trainingWindowStart(pool, maxRows);
  let after = 0n;
  for (;;) {
    const page = await readTrainingPage(pool, from, after, PAGE);
    for (const row of page) {
      examples.push({
        taskType: row.task_type,
        agents: row.agents,
        complexity: row.complexity,
        success: row.success,
        durationSeconds: row.duration_seconds,
        recordedAtUs: row.recorded_at_us,
      });
    }
    const last = page.at(-1);
    if (!last || page.length < PAGE) break;
    after = last.seq;
  }
  return examples;
}

function reply(message: RetrainReply): void {
  // Exit only once the reply is handed over; the parent reads it before the exit.
  process.send?.(message, () => process.exit(0));
}

process.once("message", (job: RetrainJob) => {
  run(job).then(reply, (error: unknown) =>
    reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
