// The probability that one execution of a team finishes within a deadline, from a predictive
// distribution of L = ln(1 + seconds), and the deadline filter PredictAgents ranks behind.
//
// A distribution is a centre c and quantiles of L − c: (p_i, v_i) with p and v increasing. Between
// two known quantiles the CDF is interpolated linearly in normal scores z = Φ⁻¹(p), and beyond the
// outermost ones it is extended with the slope of the nearest segment, so:
// - two quantiles (the statistical log-normal, given as c ± sd at p = Φ(∓1); or a model that
//   stored only its 5% and 95% residual quantiles) are exactly a normal fit;
// - a model's deciles of its held-out residuals give a piecewise-normal fit that follows skew and
//   heavy tails where the data showed them.
// P(T ≤ D) = P(L ≤ ln(1 + D)) = F(ln(1 + D) − c). A distribution with no spread (every quantile
// equal) is a step: 1 at and beyond it, 0 before.
import { normalCdf } from "./normal.js";
import { normalQuantile } from "./team-duration.js";

/** One quantile of a distribution: P(X ≤ value) = p. */
export interface QuantilePoint {
  p: number;
  value: number;
}

/** A predictive distribution of ln(1 + seconds): a centre and quantiles of the deviation from it. */
export interface LogDurationDistribution {
  center: number;
  /** Quantiles of ln(1 + seconds) − center, at least two, increasing in p and in value. */
  quantiles: readonly QuantilePoint[];
}

/** What a PredictAgents deadline asks: finish within `seconds` with probability at least `level`. */
export interface DeadlineRequest {
  seconds: number;
  /** In (0, 1). */
  level: number;
}

/** Level a deadline is held to unless the caller names one. */
export const DEFAULT_DEADLINE_LEVEL = 0.8;

const ONE_SD = normalCdf(-1);

/** The log-normal fit ln(1 + seconds) ~ N(mean, sd²) as a distribution. */
export function normalLogDuration(mean: number, sd: number): LogDurationDistribution {
  return {
    center: mean,
    quantiles: [
      { p: ONE_SD, value: -sd },
      { p: 1 - ONE_SD, value: sd },
    ],
  };
}

/**
 * A distribution from a point prediction of ln(1 + seconds) and quantiles of the residuals
 * (observed − predicted); undefined with fewer than two usable quantiles.
 */
export function residualLogDuration(prediction: number, residualQuantiles: readonly QuantilePoint[]): LogDurationDistribution | undefined {
  return residualDistribution(residualQuantiles)(prediction);
}

/**
 * residualLogDuration for one model's residual quantiles, sorted and checked once: every
 * distribution it gives shares them (a ranking holds one per candidate, so a copy each cost memory).
 */
export function residualDistribution(
  residualQuantiles: readonly QuantilePoint[],
): (prediction: number) => LogDurationDistribution | undefined {
  const quantiles = [...residualQuantiles].filter((q) => q.p > 0 && q.p < 1 && Number.isFinite(q.value)).sort((a, b) => a.p - b.p);
  if (quantiles.length < 2) return () => undefined;
  return (prediction) => (Number.isFinite(prediction) ? { center: prediction, quantiles } : undefined);
}

/** P(one execution takes at most `seconds`) under the distribution. */
export function probabilityWithin(distribution: LogDurationDistribution, seconds: number): number {
  if (!(seconds >= 0)) return 0;
  if (seconds === Number.POSITIVE_INFINITY) return 1;
  return deviationCdf(distribution.quantiles, Math.log1p(seconds) - distribution.center);
}

// F(x) for the deviation x, by linear interpolation of normal scores between known quantiles.
function deviationCdf(quantiles: readonly QuantilePoint[], x: number): number {
  const first = quantiles[0]!;
  const last = quantiles[quantiles.length - 1]!;
  if (last.value <= first.value) return x >= first.value ? 1 : 0;
  // The segment holding x, or the outermost one on x's side (extrapolated).
  let i = 0;
  while (i < quantiles.length - 2 && x > quantiles[i + 1]!.value) i++;
  let lo = i;
  let hi = i + 1;
  // A flat segment (equal values) carries no slope: widen it to its neighbours.
  while (quantiles[hi]!.value <= quantiles[lo]!.value && hi < quantiles.length - 1) hi++;
  while (quantiles[hi]!.value <= quantiles[lo]!.value && lo > 0) lo--;
  const a = quantiles[lo]!;
  const b = quantiles[hi]!;
  const za = normalQuantile(a.p);
  const zb = normalQuantile(b.p);
  const z = za + ((x - a.value) / (b.value - a.value)) * (zb - za);
  return normalCdf(z);
}

/** What the deadline filter kept, and what the best excluded team reached (for the explanation). */
export interface DeadlineFilter<T> {
  kept: T[];
  excluded: number;
  /** Teams with no duration to go on (none recorded for the task type). */
  unknown: number;
  /** The highest probability of finishing in time among the excluded teams; 0 when none. */
  bestExcludedProbability: number;
}

/** Keeps the items whose duration distribution meets the deadline, in their order. */
export function filterByDeadline<T>(
  items: readonly T[],
  distributionOf: (item: T) => LogDurationDistribution | undefined,
  deadline: DeadlineRequest,
): DeadlineFilter<T> {
  const kept: T[] = [];
  let unknown = 0;
  let bestExcludedProbability = 0;
  for (const item of items) {
    const distribution = distributionOf(item);
    if (distribution === undefined) {
      unknown++;
      continue;
    }
    const p = probabilityWithin(distribution, deadline.seconds);
    if (p >= deadline.level) kept.push(item);
    else bestExcludedProbability = Math.max(bestExcludedProbability, p);
  }
  return { kept, excluded: items.length - kept.length, unknown, bestExcludedProbability };
}

/** What a deadline did to one ranking: candidates considered and excluded, for the explanation. */
export interface DeadlineSummary {
  considered: number;
  excluded: number;
  /** Excluded because the task type has no duration to go on. */
  unknown: number;
  /** The highest probability of finishing in time among the excluded teams; 0 when none. */
  bestExcludedProbability: number;
}

/** The part of a ranking's memo key a deadline adds ("" without one). */
export function deadlineKey(deadline: DeadlineRequest | undefined): string {
  return deadline ? `${deadline.seconds}@${deadline.level}` : "";
}
