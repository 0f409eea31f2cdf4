// Scoring held-out rows for the quality gate: the candidate's predictions, its per-row losses, a
// team scorer for the serving choice, and the comparison with the active model on the rows that
// are new to it. Split from train-models.ts, which composes them.
import { encodeRow, type FeatureMap, featureEncoder } from "./features.js";
import { flatPredictValue, flattenEnsemble } from "./flat-ensemble.js";
import type { GateComparison } from "./quality-gate.js";
import type { TeamScorer } from "./team-uncertainty.js";
import { type EncodedSet, encodeExamples, type TrainingExample } from "./training-set.js";
import type { TreeEnsemble } from "./tree-ensemble.js";

/** An active model, as the gate compares with it. */
export interface ActiveModel {
  version: string;
  ensemble: TreeEnsemble;
  featureMap: FeatureMap;
  /** The newest execution it learned from: only holdout rows after it are new to it. */
  windowEndUs?: bigint;
}

/** Holdout rows an active model has not learned from, below which it is not compared (too noisy). */
export const MIN_ACTIVE_COMPARISON_ROWS = 100;

export function predictAll(ensemble: TreeEnsemble, set: EncodedSet): Float64Array {
  const flat = flattenEnsemble(ensemble);
  const out = new Float64Array(set.rows);
  for (let row = 0; row < set.rows; row++) out[row] = flatPredictValue(flat, set.features, row * set.featureCount);
  return out;
}

/** Per-row log loss or absolute error, for the gate's paired test. */
export function rowLosses(p: Float64Array, y: Float64Array, kind: "log" | "abs"): Float64Array {
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

/** The rows an active model has not learned from (all of them when its window is unknown). */
function newToActive(active: ActiveModel, examples: readonly TrainingExample[]): number[] {
  const end = active.windowEndUs;
  const rows: number[] = [];
  examples.forEach((e, i) => {
    if (end === undefined || e.recordedAtUs > end) rows.push(i);
  });
  return rows;
}

/** One team at one complexity through an ensemble, encoded with its map. */
export function scorer(ensemble: TreeEnsemble, map: FeatureMap): TeamScorer {
  const encoder = featureEncoder(map);
  const flat = flattenEnsemble(ensemble);
  const row = new Float32Array(encoder.width);
  return (taskType, agents, complexity) => {
    row.fill(0);
    encodeRow(encoder, row, 0, taskType, agents, complexity);
    return flatPredictValue(flat, row, 0);
  };
}

const pick = (values: Float64Array, rows: readonly number[]): Float64Array => Float64Array.from(rows, (i) => values[i]!);

/**
 * The candidate's and the active model's figures on the holdout rows the active model never
 * learned from, or undefined when there are fewer than MIN_ACTIVE_COMPARISON_ROWS of them.
 */
export function compareWithActive(
  active: ActiveModel,
  holdout: readonly TrainingExample[],
  candidate: Float64Array,
  labels: Float64Array,
  figures: (p: Float64Array, y: Float64Array) => GateComparison["active"],
  target: (set: EncodedSet) => Float64Array = (set) => set.success,
): GateComparison | undefined {
  const rows = newToActive(active, holdout);
  if (rows.length < MIN_ACTIVE_COMPARISON_ROWS) return undefined;
  const encoded = encodeExamples(
    active.featureMap,
    rows.map((i) => holdout[i]!),
  );
  const y = target(encoded);
  return {
    rows: rows.length,
    candidate: figures(pick(candidate, rows), pick(labels, rows)),
    active: figures(predictAll(active.ensemble, encoded), y),
  };
}
