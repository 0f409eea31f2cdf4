// The figures a model is judged by (quality gate, model metadata, tests). Pure functions over
// arrays; weights, where accepted, make each a weighted mean.

type Values = ArrayLike<number>;

/** Log loss never takes the log of 0: probabilities are kept within this distance of 0 and 1. */
const PROBABILITY_FLOOR = 1e-15;

function checkLengths(name: string, a: Values, b: Values, weights?: Values): void {
  if (a.length !== b.length || (weights !== undefined && weights.length !== a.length)) {
    throw new RangeError(`${name}: arrays must have the same length`);
  }
  if (a.length === 0) throw new RangeError(`${name}: needs at least one row`);
}

function weightedMean(n: number, term: (i: number) => number, weights: Values | undefined): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    sum += w * term(i);
    total += w;
  }
  return sum / total;
}

/**
 * Mean negative log-likelihood of labels y ∈ [0, 1] under probabilities p: the success model's
 * training objective, and the measure that punishes confident mistakes hardest.
 */
export function logLoss(p: Values, y: Values, weights?: Values): number {
  checkLengths("logLoss", p, y, weights);
  return weightedMean(
    p.length,
    (i) => {
      const q = Math.min(1 - PROBABILITY_FLOOR, Math.max(PROBABILITY_FLOOR, p[i]!));
      const label = y[i]!;
      return -(label * Math.log(q) + (1 - label) * Math.log(1 - q));
    },
    weights,
  );
}

/** Mean squared difference between probabilities and outcomes: calibration and sharpness in one number. */
export function brier(p: Values, y: Values, weights?: Values): number {
  checkLengths("brier", p, y, weights);
  return weightedMean(p.length, (i) => (p[i]! - y[i]!) ** 2, weights);
}

/** Mean absolute error: the duration model's figure, in the units of its target. */
export function meanAbsoluteError(prediction: Values, y: Values, weights?: Values): number {
  checkLengths("meanAbsoluteError", prediction, y, weights);
  return weightedMean(prediction.length, (i) => Math.abs(prediction[i]! - y[i]!), weights);
}

/**
 * Area under the ROC curve: the probability that a random positive (label > 0.5) scores above a
 * random negative, ties counting one half (average ranks, the Mann–Whitney statistic). It judges
 * ranking alone, whatever the calibration.
 *
 * With only one class present no ranking can be shown, and the answer is 0.5 ("no evidence of
 * discrimination") rather than NaN, which every comparison would silently treat as passing.
 */
export function auc(scores: Values, labels: Values): number {
  checkLengths("auc", scores, labels);
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError("auc: scores must not be NaN");
    order[i] = i;
  }
  order.sort((a, b) => {
    const x = scores[a]!;
    const z = scores[b]!;
    return x < z ? -1 : x > z ? 1 : 0; // not x − z: Infinity − Infinity is NaN
  });
  let positives = 0;
  let positiveRankSum = 0;
  // Walk groups of equal scores; every member of a group gets the group's average 1-based rank.
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (labels[order[k]!]! > 0.5) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return 0.5;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
