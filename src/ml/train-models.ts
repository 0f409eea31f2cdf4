// One retraining: both models trained on the same chronological split, judged by the quality
// gate on the held-out recent rows against the base rate and the active models, then refitted on
// every row (the newest ones matter most) and exported to ONNX with everything needed to serve
// them in the file's metadata. Pure computation (it runs in a low-priority child process); reading
// the data and storing the results is the caller's job.
//
// Two fits per model:
// - the JUDGED fit learns from the oldest 70% and stops early on the next 15%; the quality gate
//   judges it on the newest 15%, which it never saw. Its tree count is the one the data asked for.
// - the SERVED fit learns from all rows with that tree count, scaled by the rows it has over the
//   judged fit's (more data supports more trees before overfitting; capped at MAX_TREES). Serving a
//   model that never saw the newest 30% of the history cost accuracy exactly where it matters.
// Trees grow best-first to a budget of leaves (LightGBM's and scikit-learn's default shape):
// measured on the simulator's world against its true probabilities, 31 leaves matched or beat
// depth-4 trees at every size from 10^3 to 10^5 rows and needed a third of the trees.
// Above ROWS_PER_TREE rows each tree learns from a fresh sample of that many (stochastic
// boosting) and is then applied to every row: accuracy has flattened by then (AUC 0.714 at 10^6
// rows with 2·10^5 per tree, 0.712 with 10^5), and growing each tree on every row made 10^6 rows
// take minutes. The service trains on at most RETRAIN_MAX_ROWS (2·10^5 by default) anyway.
import { COUNTING_LOG_LOSS_METRIC, countingModel } from "./counting-baseline.js";
import type { FeatureMap } from "./features.js";
import type { TrainOptions } from "./gbdt/options.js";
import { binRows, trainGbdt } from "./gbdt/train.js";
import { auc, logLoss, meanAbsoluteError } from "./metrics.js";
import { exportOnnx } from "./onnx-export.js";
import { gateVerdict, pairedImprovementZ } from "./quality-gate.js";
import {
  chooseServing,
  RECORD_WEIGHT_METRIC,
  STATISTICAL_PRIOR_METRIC,
  teamLogitVariances,
  teamVarianceMetric,
} from "./team-uncertainty.js";
import { residualQuantileMetrics } from "./residual-quantiles.js";
import {
  buildFeatureMap,
  encodeExamples,
  encodedRows,
  splitChronologically,
  teamIds,
  type EncodedSet,
  type TrainingExample,
} from "./training-set.js";
import type { TreeEnsemble } from "./tree-ensemble.js";
import { type ActiveModel, compareWithActive, predictAll, rowLosses, scorer } from "./holdout-scoring.js";

export type { ActiveModel } from "./holdout-scoring.js";

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

/** Most trees of a served fit. */
export const MAX_TREES = 1000;

/** Rows each tree learns from at most (see the header): 10^5, where accuracy has flattened. */
export const ROWS_PER_TREE = 100_000;

/** The shape of every tree the service trains (see the header). */
export const MODEL_TRAIN_OPTIONS: Partial<TrainOptions> = {
  maxLeaves: 31,
  maxDepth: 8,
  maxTrees: MAX_TREES,
  learningRate: 0.1,
  minLeafSize: 20,
  l2: 1,
  rowsPerTree: ROWS_PER_TREE,
};

/**
 * Trains, judges and exports the success and duration models from examples (oldest first). The
 * gate compares with an active model only on holdout rows newer than everything it learned from
 * (it was refitted on all its rows, so older ones would flatter it).
 */
export function trainModels(
  examples: readonly TrainingExample[],
  active: { success?: ActiveModel; duration?: ActiveModel },
  versionStamp: string,
): TrainedModel[] {
  if (examples.length < MIN_TRAINING_EXAMPLES) return [];
  // The served fit's columns: agents and task types first seen in the newest rows count too.
  const featureMap = buildFeatureMap(examples);
  const all = encodeExamples(featureMap, examples);
  const split = splitChronologically(examples, { map: featureMap, set: all });
  const holdoutExamples = split.holdoutExamples;
  const trainExamples = examples.slice(0, split.train.rows);
  const validationExamples = examples.slice(split.train.rows, split.train.rows + split.validation.rows);
  const holdoutStart = all.rows - split.holdout.rows;
  const holdoutServed = encodedRows(all, holdoutStart, all.rows);
  const parityRows = Math.min(256, holdoutServed.rows);
  const parityFeatures = holdoutServed.features.slice(0, parityRows * holdoutServed.featureCount);
  const common = {
    featureMap,
    trainingRows: all.rows,
    windowStartUs: split.windowStartUs,
    windowEndUs: split.windowEndUs,
    parityFeatures,
    parityRows,
  };
  const meta = (kind: string, version: string, metrics: Record<string, number>) => ({
    kind,
    version,
    feature_map: JSON.stringify(featureMap),
    metrics: JSON.stringify(metrics),
    training_rows: String(all.rows),
    window_start_us: split.windowStartUs.toString(),
    window_end_us: split.windowEndUs.toString(),
  });
  // Both targets learn from the same rows: bin each matrix once.
  const trainBins = binRows(split.train);
  const allBins = binRows(all);
  /** The judged fit (early-stopped) and the served fit (all rows, scaled tree count) of one target. */
  const fitTarget = (objective: "logistic" | "squared", labels: (set: EncodedSet) => Float64Array) => {
    const judged = trainGbdt(
      { ...split.train, labels: labels(split.train) },
      { ...split.validation, labels: labels(split.validation) },
      { ...MODEL_TRAIN_OPTIONS, objective },
      trainBins,
    ).ensemble;
    // Scaled by the rows each tree learns from: all of them up to ROWS_PER_TREE, a sample of that
    // size above it, so two fits that both sample grow the same number of trees.
    const perTree = (rows: number) => Math.min(rows, ROWS_PER_TREE);
    const trees = Math.min(MAX_TREES, Math.max(1, Math.round((judged.trees.length * perTree(all.rows)) / perTree(split.train.rows))));
    const served = trainGbdt(
      { ...all, labels: labels(all) },
      undefined,
      { ...MODEL_TRAIN_OPTIONS, objective, maxTrees: trees },
      allBins,
    ).ensemble;
    return { judged, served };
  };
  const models: TrainedModel[] = [];

  // Success: logistic loss.
  {
    const version = `success-${versionStamp}`;
    const { judged, served } = fitTarget("logistic", (set) => set.success);
    const p = predictAll(judged, split.holdout);
    const y = split.holdout.success;
    let trainRate = 0;
    for (const v of split.train.success) trainRate += v;
    trainRate = Math.min(1 - 1e-6, Math.max(1e-6, trainRate / Math.max(1, split.train.rows)));
    const base = new Float64Array(y.length).fill(trainRate);
    // One id space for every row, so the ids asked of the counting model are the ones it counted.
    const teams = teamIds(trainExamples, validationExamples, holdoutExamples);
    const [trainIds, validationIds, holdoutIds] = teams.sets as [Int32Array, Int32Array, Int32Array];
    const variances = teamLogitVariances(trainExamples, validationExamples, predictAll(judged, split.validation), {
      sets: [trainIds, validationIds],
      count: teams.count,
    });
    const counting = countingModel(trainExamples, { ids: trainIds, count: teams.count });
    const countingLoss = logLoss(
      Float64Array.from(holdoutExamples, (e, i) => counting.probability(e, holdoutIds[i]!)),
      y,
    );
    const serving = chooseServing(
      trainExamples,
      holdoutExamples,
      scorer(judged, split.featureMap),
      variances,
      (e, id) => counting.prior(e, id),
      { teams: { sets: [trainIds, holdoutIds], count: teams.count }, holdoutProbabilities: p },
    );
    const metrics: Record<string, number> = {
      log_loss: logLoss(p, y),
      auc: auc(p, y),
      base_log_loss: logLoss(base, y),
      improvement_z: pairedImprovementZ(rowLosses(p, y, "log"), rowLosses(base, y, "log")),
      trees: served.trees.length,
      judged_trees: judged.trees.length,
      validation_rows: split.validation.rows,
      holdout_rows: split.holdout.rows,
      ...Object.fromEntries(variances.map((v, bucket) => [teamVarianceMetric(bucket), v])),
      [RECORD_WEIGHT_METRIC]: serving.recordWeight,
      [STATISTICAL_PRIOR_METRIC]: serving.statisticalPrior ? 1 : 0,
      [COUNTING_LOG_LOSS_METRIC]: countingLoss,
    };
    const comparison =
      active.success &&
      compareWithActive(active.success, holdoutExamples, p, y, (q, labels) => ({ loss: logLoss(q, labels), auc: auc(q, labels) }));
    if (comparison) {
      metrics.active_log_loss = comparison.active.loss;
      metrics.active_auc = comparison.active.auc!;
      metrics.active_comparison_rows = comparison.rows;
    }
    const rejection = gateVerdict({
      kind: "success",
      loss: metrics.log_loss!,
      baseLoss: metrics.base_log_loss!,
      improvementZ: metrics.improvement_z!,
      auc: metrics.auc!,
      comparison,
    });
    const onnx = exportOnnx(served, { metadata: meta("success", version, metrics), modelVersion: Date.now() });
    models.push({ ...common, kind: "success", version, ensemble: served, onnx, metrics, rejection });
  }

  // Duration: squared error on ln(1 + seconds); interval from the judged fit's holdout residuals.
  {
    const version = `duration-${versionStamp}`;
    const { judged, served } = fitTarget("squared", (set) => set.logDuration);
    const p = predictAll(judged, split.holdout);
    const y = split.holdout.logDuration;
    let mean = 0;
    for (const v of split.train.logDuration) mean += v;
    mean /= Math.max(1, split.train.rows);
    const base = new Float64Array(y.length).fill(mean);
    const residuals = new Float64Array(y.length);
    for (let i = 0; i < y.length; i++) residuals[i] = y[i]! - p[i]!;
    residuals.sort();
    const metrics: Record<string, number> = {
      mae_log_duration: meanAbsoluteError(p, y),
      base_mae_log_duration: meanAbsoluteError(base, y),
      improvement_z: pairedImprovementZ(rowLosses(p, y, "abs"), rowLosses(base, y, "abs")),
      ...residualQuantileMetrics(residuals),
      trees: served.trees.length,
      judged_trees: judged.trees.length,
      validation_rows: split.validation.rows,
      holdout_rows: split.holdout.rows,
    };
    const comparison =
      active.duration &&
      compareWithActive(
        active.duration,
        holdoutExamples,
        p,
        y,
        (q, labels) => ({ loss: meanAbsoluteError(q, labels) }),
        (e) => e.logDuration,
      );
    if (comparison) {
      metrics.active_mae_log_duration = comparison.active.loss;
      metrics.active_comparison_rows = comparison.rows;
    }
    const rejection = gateVerdict({
      kind: "duration",
      loss: metrics.mae_log_duration!,
      baseLoss: metrics.base_mae_log_duration!,
      improvementZ: metrics.improvement_z!,
      comparison,
    });
    const onnx = exportOnnx(served, { metadata: meta("duration", version, metrics), modelVersion: Date.now() });
    models.push({ ...common, kind: "duration", version, ensemble: served, onnx, metrics, rejection });
  }
  return models;
}
