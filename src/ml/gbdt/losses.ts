// The two objectives as the booster needs them: a constant to start from, per-row gradients and
// hessians of the loss at the current raw scores, and the mean loss itself (for the loss curves
// and early stopping). Means are weighted by the row weights when there are any.
import type { Objective } from "../tree-ensemble.js";

/** One objective's arithmetic. */
export interface Loss {
  /** The best constant raw score (before any tree), float32-rounded like every stored number. */
  baseScore(labels: Float64Array, weights: Float64Array | undefined): number;
  /**
   * Writes gradients and hessians at `raw` and returns the mean loss at `raw` (computed in the same
   * pass), over every row or, with `sample`, over the rows sample[0 … sampleSize) only.
   */
  gradients(
    raw: Float64Array,
    labels: Float64Array,
    weights: Float64Array | undefined,
    grad: Float64Array,
    hess: Float64Array,
    sample?: Uint32Array,
    sampleSize?: number,
  ): number;
  /** Mean loss at `raw`. */
  meanLoss(raw: Float64Array, labels: Float64Array, weights: Float64Array | undefined): number;
}

/** Base probabilities are kept this far from 0 and 1, so an all-0 or all-1 label set has a finite log-odds. */
const BASE_RATE_CLAMP = 1e-6;

function weightedMean(values: Float64Array, weights: Float64Array | undefined): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    sum += w * values[i]!;
    total += w;
  }
  return sum / total;
}

/**
 * Log loss on the logit scale: with z the raw score and y the label, loss = log(1 + e^z) − y·z,
 * g = σ(z) − y, h = σ(z)(1 − σ(z)). Written with e^(−|z|) so no exponential overflows.
 */
const logistic: Loss = {
  baseScore(labels, weights) {
    const rate = Math.min(1 - BASE_RATE_CLAMP, Math.max(BASE_RATE_CLAMP, weightedMean(labels, weights)));
    return Math.fround(Math.log(rate / (1 - rate)));
  },
  gradients(raw, labels, weights, grad, hess, sample, sampleSize) {
    let sum = 0;
    let total = 0;
    const n = sample === undefined ? raw.length : (sampleSize ?? sample.length);
    for (let k = 0; k < n; k++) {
      const i = sample === undefined ? k : sample[k]!;
      const z = raw[i]!;
      const y = labels[i]!;
      const w = weights === undefined ? 1 : weights[i]!;
      const e = Math.exp(-Math.abs(z));
      const p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      grad[i] = w * (p - y);
      hess[i] = w * p * (1 - p);
      sum += w * (Math.max(z, 0) + Math.log1p(e) - y * z);
      total += w;
    }
    return sum / total;
  },
  meanLoss(raw, labels, weights) {
    let sum = 0;
    let total = 0;
    for (let i = 0; i < raw.length; i++) {
      const z = raw[i]!;
      const w = weights === undefined ? 1 : weights[i]!;
      sum += w * (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - labels[i]! * z);
      total += w;
    }
    return sum / total;
  },
};

/**
 * Squared error: g = z − y, h = 1 (the loss being ½(z − y)²). The reported loss is the plain mean
 * squared error, the figure people compare.
 */
const squared: Loss = {
  baseScore(labels, weights) {
    return Math.fround(weightedMean(labels, weights));
  },
  gradients(raw, labels, weights, grad, hess, sample, sampleSize) {
    let sum = 0;
    let total = 0;
    const n = sample === undefined ? raw.length : (sampleSize ?? sample.length);
    for (let k = 0; k < n; k++) {
      const i = sample === undefined ? k : sample[k]!;
      const w = weights === undefined ? 1 : weights[i]!;
      const d = raw[i]! - labels[i]!;
      grad[i] = w * d;
      hess[i] = w;
      sum += w * d * d;
      total += w;
    }
    return sum / total;
  },
  meanLoss(raw, labels, weights) {
    let sum = 0;
    let total = 0;
    for (let i = 0; i < raw.length; i++) {
      const w = weights === undefined ? 1 : weights[i]!;
      const d = raw[i]! - labels[i]!;
      sum += w * d * d;
      total += w;
    }
    return sum / total;
  },
};

/** The loss of each objective. */
export const LOSSES: Readonly<Record<Objective, Loss>> = { logistic, squared };
