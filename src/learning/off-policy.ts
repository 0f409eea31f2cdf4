// Off-policy evaluation: what a target policy's outcomes would have been on the decisions another
// policy (the logging policy) made, from the logged propensities alone (no I/O).
//
// Per decision i: the reward r_i observed for the logged team a_i, its logging propensity p_i, the
// target's probability π_i of that same team, and optionally a reward model ĝ (the direct method):
// ĝ_i at the logged team and v̂_i = Σ_a π(a|x_i)·ĝ(x_i, a) under the target. With w_i = π_i / p_i:
// - IPS:  V = (1/n) Σ w_i r_i. Unbiased when every p_i is right and every team the target picks
//   could be logged (p > 0); its variance grows with the weights.
// - Self-normalised IPS: V = Σ w_i r_i / Σ w_i. Slightly biased, never outside the range of the
//   rewards, less variance when the weights are uneven.
// - Doubly robust: V = (1/n) Σ [v̂_i + w_i (r_i − ĝ_i)]. Unbiased when the propensities are right,
//   whatever the model; when the model is good the residuals are small and so is the variance.
// Intervals: 95% normal approximation, mean ± 1.96 · sd(terms) / √n with the sample standard
// deviation of the per-decision terms (for self-normalised IPS the delta method's terms
// w_i (r_i − V) / mean(w)); success rates are clipped to [0, 1] and durations to ≥ 0. The
// approximation needs enough decisions carrying weight, hence the verdict.
// Effective sample size: Kish's (Σ w)² / Σ w², how many equally weighted decisions the weighted
// ones are worth. Support: the share of the target's probability, averaged over decisions, that
// falls on teams the logging policy could choose (p > 0); where it falls elsewhere no estimator
// here can see the outcome, and IPS undercounts it.
import { normalQuantile } from "./normal.js";

/** Coverage of every reported interval. */
export const EVALUATION_LEVEL = 0.95;
/** Below this effective sample size the data cannot tell (the normal approximation is not trusted). */
export const MIN_EFFECTIVE_SAMPLE = 50;
/** Below this support share the estimates leave out too much of what the policy would do. */
export const MIN_SUPPORT = 0.95;

/** One logged decision, as seen from one target policy. */
export interface DecisionTerms {
  /** The observed reward of the logged team (1/0 for success, seconds for duration). */
  reward: number;
  /** The logging policy's probability of the logged team, in (0, 1]. */
  propensity: number;
  /** The target policy's probability of the logged team, in [0, 1]. */
  targetProbability: number;
  /** The share of the target's probability on teams the logging policy could choose, in [0, 1]. */
  supportedMass: number;
  /** The reward model at the logged team; with `modelTarget`, enables doubly robust. */
  modelLogged?: number;
  /** The reward model's expectation under the target policy. */
  modelTarget?: number;
}

/** A value with its interval. */
export interface ValueEstimate {
  value: number;
  lower: number;
  upper: number;
  standardError: number;
}

/** Why an evaluation can or cannot be trusted. */
export type VerdictCode = "ok" | "no_data" | "low_support" | "too_few";

/** A policy's estimated value from logged decisions, and how far to trust it. */
export interface PolicyValue {
  decisions: number;
  /** Decisions where the target gives the logged team positive probability (they carry weight). */
  matched: number;
  effectiveSampleSize: number;
  supportedShare: number;
  maxWeight: number;
  ips: ValueEstimate;
  selfNormalized: ValueEstimate;
  /** Absent without a reward model. */
  doublyRobust?: ValueEstimate;
  /** Doubly robust (else IPS) minus the logging policy's own mean reward, paired per decision. */
  versusLogging: ValueEstimate;
  verdict: VerdictCode;
}

/** Which range a value lives in: success rates are probabilities, durations are non-negative. */
export type RewardScale = "probability" | "duration";

const Z = normalQuantile(1 - (1 - EVALUATION_LEVEL) / 2);

/** Estimates a target policy's value by IPS, self-normalised IPS and (with a model) doubly robust. */
export function evaluatePolicy(decisions: readonly DecisionTerms[], scale: RewardScale): PolicyValue {
  const n = decisions.length;
  if (n === 0) {
    const none = emptyEstimate();
    return {
      decisions: 0,
      matched: 0,
      effectiveSampleSize: 0,
      supportedShare: 0,
      maxWeight: 0,
      ips: none,
      selfNormalized: none,
      versusLogging: none,
      verdict: "no_data",
    };
  }
  // Typed arrays: a log of 10^5 decisions is evaluated for several policies and outcomes per call.
  const weights = Float64Array.from(decisions, weightOf);
  const ipsTerms = Float64Array.from(decisions, (d, i) => weights[i]! * d.reward);
  const ips = meanEstimate(ipsTerms, scale);

  const weightSum = weights.reduce((a, b) => a + b, 0);
  const weightSqSum = weights.reduce((a, w) => a + w * w, 0);
  const meanWeight = weightSum / n;
  const snipsValue = weightSum > 0 ? ipsTerms.reduce((a, b) => a + b, 0) / weightSum : 0;
  const snipsTerms =
    weightSum > 0 ? Float64Array.from(decisions, (d, i) => (weights[i]! * (d.reward - snipsValue)) / meanWeight) : new Float64Array(0);
  const selfNormalized = weightSum > 0 ? shifted(meanEstimate(snipsTerms, "difference"), snipsValue, scale) : emptyEstimate();

  const modelled = decisions.every((d) => d.modelLogged !== undefined && d.modelTarget !== undefined);
  const drTerms = modelled ? Float64Array.from(decisions, (d, i) => d.modelTarget! + weights[i]! * (d.reward - d.modelLogged!)) : undefined;
  const doublyRobust = drTerms ? meanEstimate(drTerms, scale) : undefined;

  const versusLogging = meanEstimate(
    (drTerms ?? ipsTerms).map((t, i) => t - decisions[i]!.reward),
    "difference",
  );
  const effectiveSampleSize = weightSqSum > 0 ? (weightSum * weightSum) / weightSqSum : 0;
  const supportedShare = decisions.reduce((a, d) => a + clamp(d.supportedMass, 0, 1), 0) / n;
  return {
    decisions: n,
    matched: weights.reduce((a, w) => a + (w > 0 ? 1 : 0), 0),
    effectiveSampleSize,
    supportedShare,
    // A loop, not Math.max(...weights): spreading 10^5+ arguments overflows the stack.
    maxWeight: weights.reduce((a, w) => Math.max(a, w), 0),
    ips,
    selfNormalized,
    ...(doublyRobust ? { doublyRobust } : {}),
    versusLogging,
    verdict: verdictOf(effectiveSampleSize, supportedShare),
  };
}

/** The verdict on an evaluation: trusted only with enough weighted decisions and enough support. */
export function verdictOf(effectiveSampleSize: number, supportedShare: number): VerdictCode {
  if (effectiveSampleSize === 0) return "no_data";
  if (supportedShare < MIN_SUPPORT) return "low_support";
  if (effectiveSampleSize < MIN_EFFECTIVE_SAMPLE) return "too_few";
  return "ok";
}

/** Importance weight π_i / p_i; a decision logged with propensity 0 cannot have happened and weighs nothing. */
function weightOf(d: DecisionTerms): number {
  return d.propensity > 0 ? clamp(d.targetProbability, 0, 1) / d.propensity : 0;
}

/** Mean of per-decision terms with its normal-approximation interval, clipped to the scale's range. */
function meanEstimate(terms: Float64Array, scale: RewardScale | "difference"): ValueEstimate {
  const n = terms.length;
  if (n === 0) return emptyEstimate();
  const mean = terms.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? terms.reduce((a, t) => a + (t - mean) ** 2, 0) / (n - 1) : 0;
  const standardError = Math.sqrt(variance / n);
  return bounded({ value: mean, lower: mean - Z * standardError, upper: mean + Z * standardError, standardError }, scale);
}

/** A centred estimate moved to `center` (self-normalised IPS: its terms are residuals around V). */
function shifted(e: ValueEstimate, center: number, scale: RewardScale): ValueEstimate {
  return bounded(
    { value: center, lower: center + e.lower - e.value, upper: center + e.upper - e.value, standardError: e.standardError },
    scale,
  );
}

function bounded(e: ValueEstimate, scale: RewardScale | "difference"): ValueEstimate {
  if (scale === "difference") return e;
  const [low, high] = scale === "probability" ? [0, 1] : [0, Number.POSITIVE_INFINITY];
  return {
    value: clamp(e.value, low, high),
    lower: clamp(e.lower, low, high),
    upper: clamp(e.upper, low, high),
    standardError: e.standardError,
  };
}

function emptyEstimate(): ValueEstimate {
  return { value: 0, lower: 0, upper: 0, standardError: 0 };
}

const clamp = (x: number, low: number, high: number) => Math.min(high, Math.max(low, x));
