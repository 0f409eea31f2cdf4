// The quality gate a new model must pass before it serves. Judged on the holdout rows (the newest
// executions, later than every training row and unused by early stopping):
// - both models: their per-row loss must beat the constant base predictor's significantly — a
//   paired z-test on the per-row differences, z ≥ 1.645 (one-sided 5%) — so a model fitted to
//   noise does not pass by the luck of one split;
// - success model: log loss below the base rate's (predicting the training success rate for
//   every row) AND AUC above 0.5 + margin; and, when a model is active, log loss not worse than
//   the active model's (small tolerance for noise) and AUC not lower by more than the same
//   tolerance, both on the holdout rows newer than everything the active model learned from (it
//   was refitted on all its rows; with fewer than 100 such rows there is no comparison);
// - duration model: mean absolute error of ln(1 + seconds) below the base's (predicting the
//   training mean) and not worse than the active model's.

/** Figures of one candidate on the validation rows. */
export interface GateFigures {
  kind: "success" | "duration";
  /** success: log loss; duration: MAE of ln(1 + seconds). Lower is better. */
  loss: number;
  /** The constant base predictor's loss on the same rows. */
  baseLoss: number;
  /** Paired z of the per-row loss improvement over the base predictor (pairedImprovementZ). */
  improvementZ: number;
  /** success only. */
  auc?: number;
  /** The candidate against the active model, when one is active and enough rows are new to it. */
  comparison?: GateComparison;
}

/** A candidate and the active model judged on the same rows: the holdout rows the active model never learned from. */
export interface GateComparison {
  rows: number;
  candidate: { loss: number; auc?: number };
  active: { loss: number; auc?: number };
}

/** Tolerances of the gate. */
export const GATE = {
  /** Relative loss increase over the active model still accepted (noise between runs). */
  lossTolerance: 0.01,
  aucTolerance: 0.01,
  minAucMargin: 0.02,
  /** One-sided 5% critical value of the paired improvement test. */
  minImprovementZ: 1.645,
} as const;

/**
 * z statistic of the mean per-row improvement (base loss − model loss) over its standard error:
 * large when the model is better on most rows, not on a lucky few.
 */
export function pairedImprovementZ(modelLoss: Float64Array, baseLoss: Float64Array): number {
  const n = modelLoss.length;
  if (n < 2) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += baseLoss[i]! - modelLoss[i]!;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (baseLoss[i]! - modelLoss[i]! - mean) ** 2;
  variance /= n - 1;
  const se = Math.sqrt(variance / n);
  return se > 0 ? mean / se : mean > 0 ? Number.POSITIVE_INFINITY : 0;
}

/** The gate's verdict: undefined when accepted, else the reason. */
export function gateVerdict(f: GateFigures): string | undefined {
  if (!(f.loss < f.baseLoss)) {
    return `${f.kind === "success" ? "log loss" : "MAE"} ${f.loss.toFixed(4)} does not beat the base rate's ${f.baseLoss.toFixed(4)}`;
  }
  if (!(f.improvementZ >= GATE.minImprovementZ)) {
    return `the improvement over the base rate is not significant (paired z ${f.improvementZ.toFixed(2)} < ${GATE.minImprovementZ})`;
  }
  if (f.kind === "success" && f.auc !== undefined && f.auc < 0.5 + GATE.minAucMargin) {
    return `AUC ${f.auc.toFixed(4)} is not better than chance`;
  }
  const c = f.comparison;
  if (c) {
    if (c.candidate.loss > c.active.loss * (1 + GATE.lossTolerance)) {
      return `${f.kind === "success" ? "log loss" : "MAE"} ${c.candidate.loss.toFixed(4)} is worse than the active model's ${c.active.loss.toFixed(4)} on the ${c.rows} holdout rows new to it`;
    }
    if (c.candidate.auc !== undefined && c.active.auc !== undefined && c.candidate.auc < c.active.auc - GATE.aucTolerance) {
      return `AUC ${c.candidate.auc.toFixed(4)} is worse than the active model's ${c.active.auc.toFixed(4)} on the ${c.rows} holdout rows new to it`;
    }
  }
  return undefined;
}
