// One retraining: both models trained on the same chronological split, judged by the quality
// gate on the held-out recent rows against the base rate and the active models, and exported to
// ONNX with everything needed to serve them in the file's metadata. Pure computation (it runs in
// a low-priority child process); reading the data and storing the results is the caller's job.
import { type FeatureMap } from "./features.js";
import { trainGbdt } from "./gbdt/train.js";
import { auc, logLoss, meanAbsoluteError } from "./metrics.js";
import { exportOnnx } from "./onnx-export.js";
import { gateVerdict, pairedImprovementZ } from "./quality-gate.js";
import { residualQuantileMetrics } from "./residual-quantiles.js";
import { encodeExamples, splitChronologically, type EncodedSet, type TrainingExample } from "./training-set.js";
import { predictValue, type TreeEnsemble } from "./tree-ensemble.js";

/** An active model, as the gate compares with it. */
export interface ActiveModel {
  version: string;
  ensemble: TreeEnsemble;
  featureMap: FeatureMap;
}

/** One trained version, ready to be checked and stored. */
export interface TrainedModel {
  kind: "success" | "duration";
  version: string;
  ensemble: TreeEnsemble;
  featureMap: FeatureMap;
  onnx: Uint8Array;
  metrics: Record<string, number>;
  /** Why the gate rejected it; undefined when accepted. */
  rejection: string | undefined;
  trainingRows: number;
  windowStartUs: bigint;
  windowEndUs: bigint;
  /** Up to 256 validation rows (row-major, the model's own map) for the ONNX parity check. */
  parityFeatures: Float32Array;
  parityRows: number;
}

/** Smallest history worth training on. */
export const MIN_TRAINING_EXAMPLES = 200;

function predictAll(ensemble: TreeEnsemble, set: EncodedSet): Float64Array {
  const out = new Float64Array(set.rows);
  for (let row = 0; row < set.rows; row++) out[row] = predictValue(ensemble, set.features, row * set.featureCount);
  return out;
}

/** Per-row log loss or absolute error, for the gate's paired test. */
function rowLosses(p: Float64Array, y: Float64Array, kind: "log" | "abs"): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    if (kind === "abs") out[i] = Math.abs(p[i]! - y[i]!);
    else {
      const q = Math.min(1 - 1e-12, Math.max(1e-12, p[i]!));
      out[i] = -(y[i]! * Math.log(q) + (1 - y[i]!) * Math.log(1 - q));
    }
  }
  return out;
}

/** Trains, judges and exports the success and duration models from examples (oldest first). */
export function trainModels(
  examples: readonly TrainingExample[],
  active: { success?: ActiveModel; duration?: ActiveModel },
  versionStamp: string,
): TrainedModel[] {
  if (examples.length < MIN_TRAINING_EXAMPLES) return [];
  const split = splitChronologically(examples);
  const holdoutExamples = split.holdoutExamples;
  const parityRows = Math.min(256, split.holdout.rows);
  const parityFeatures = split.holdout.features.slice(0, parityRows * split.holdout.featureCount);
  const common = {
    featureMap: split.featureMap,
    trainingRows: split.train.rows,
    windowStartUs: split.windowStartUs,
    windowEndUs: split.windowEndUs,
    parityFeatures,
    parityRows,
  };
  const meta = (kind: string, version: string, metrics: Record<string, number>) => ({
    kind,
    version,
    feature_map: JSON.stringify(split.featureMap),
    metrics: JSON.stringify(metrics),
    training_rows: String(split.train.rows),
    window_start_us: split.windowStartUs.toString(),
    window_end_us: split.windowEndUs.toString(),
  });
  const models: TrainedModel[] = [];

  // Success: logistic loss.
  {
    const version = `success-${versionStamp}`;
    const trained = trainGbdt(
      { features: split.train.features, rows: split.train.rows, featureCount: split.train.featureCount, labels: split.train.success },
      { features: split.validation.features, rows: split.validation.rows, featureCount: split.validation.featureCount, labels: split.validation.success },
      { objective: "logistic" },
    );
    const p = predictAll(trained.ensemble, split.holdout);
    const y = split.holdout.success;
    let trainRate = 0;
    for (const v of split.train.success) trainRate += v;
    trainRate = Math.min(1 - 1e-6, Math.max(1e-6, trainRate / Math.max(1, split.train.rows)));
    const metrics: Record<string, number> = {
      log_loss: logLoss(p, y),
      auc: auc(p, y),
      base_log_loss: logLoss(new Float64Array(y.length).fill(trainRate), y),
      improvement_z: pairedImprovementZ(rowLosses(p, y, "log"), rowLosses(new Float64Array(y.length).fill(trainRate), y, "log")),
      trees: trained.ensemble.trees.length,
      validation_rows: split.validation.rows,
      holdout_rows: split.holdout.rows,
    };
    let activeFigures: { loss: number; auc: number } | undefined;
    if (active.success) {
      const encoded = encodeExamples(active.success.featureMap, holdoutExamples);
      const q = predictAll(active.success.ensemble, encoded);
      activeFigures = { loss: logLoss(q, y), auc: auc(q, y) };
      metrics.active_log_loss = activeFigures.loss;
      metrics.active_auc = activeFigures.auc;
    }
    const rejection = gateVerdict({ kind: "success", loss: metrics.log_loss!, baseLoss: metrics.base_log_loss!, improvementZ: metrics.improvement_z!, auc: metrics.auc!, active: activeFigures });
    const onnx = exportOnnx(trained.ensemble, { metadata: meta("success", version, metrics), modelVersion: Date.now() });
    models.push({ ...common, kind: "success", version, ensemble: trained.ensemble, onnx, metrics, rejection });
  }

  // Duration: squared error on ln(1 + seconds); interval from validation residuals.
  {
    const version = `duration-${versionStamp}`;
    const trained = trainGbdt(
      { features: split.train.features, rows: split.train.rows, featureCount: split.train.featureCount, labels: split.train.logDuration },
      { features: split.validation.features, rows: split.validation.rows, featureCount: split.validation.featureCount, labels: split.validation.logDuration },
      { objective: "squared" },
    );
    const p = predictAll(trained.ensemble, split.holdout);
    const y = split.holdout.logDuration;
    let mean = 0;
    for (const v of split.train.logDuration) mean += v;
    mean /= Math.max(1, split.train.rows);
    const residuals = new Float64Array(y.length);
    for (let i = 0; i < y.length; i++) residuals[i] = y[i]! - p[i]!;
    residuals.sort();
    const metrics: Record<string, number> = {
      mae_log_duration: meanAbsoluteError(p, y),
      base_mae_log_duration: meanAbsoluteError(new Float64Array(y.length).fill(mean), y),
      improvement_z: pairedImprovementZ(rowLosses(p, y, "abs"), rowLosses(new Float64Array(y.length).fill(mean), y, "abs")),
      ...residualQuantileMetrics(residuals),
      trees: trained.ensemble.trees.length,
      validation_rows: split.validation.rows,
      holdout_rows: split.holdout.rows,
    };
    let activeFigures: { loss: number } | undefined;
    if (active.duration) {
      const encoded = encodeExamples(active.duration.featureMap, holdoutExamples);
      activeFigures = { loss: meanAbsoluteError(predictAll(active.duration.ensemble, encoded), y) };
      metrics.active_mae_log_duration = activeFigures.loss;
    }
    const rejection = gateVerdict({ kind: "duration", loss: metrics.mae_log_duration!, baseLoss: metrics.base_mae_log_duration!, improvementZ: metrics.improvement_z!, active: activeFigures });
    const onnx = exportOnnx(trained.ensemble, { metadata: meta("duration", version, metrics), modelVersion: Date.now() });
    models.push({ ...common, kind: "duration", version, ensemble: trained.ensemble, onnx, metrics, rejection });
  }
  return models;
}
