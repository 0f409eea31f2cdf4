// A team's success probability from the success model and the team's own record, with its
// uncertainty: the model says how complexity, team size and agents combine; the record corrects
// what the model misjudges about this particular team; the uncertainty keeps rankings honest.
//
// Method (log-odds scale). L is the team's log-odds at its own mean complexity c̄ (at 2.0 for a
// team never run). Two priors of L are combined by their precisions:
//   the model's:        N(logit p_m(c̄), σ²), σ² measured by the trainer on rows the model never
//                       saw, per bucket of the team's rows (ml/team-uncertainty.ts);
//   the statistical:    N(logit m, 1 / ((κ + 1) m (1 − m))), the Beta(κ m, κ (1 − m)) prior of
//                       team-prior.ts (agents, worst pair, task type) in log-odds.
// The centre is their precision-weighted mean; the precision is the larger of the two, not their
// sum: both are built from the same executions (the agents' records are the model's training
// rows), so their information does not add up, and summing it would hold a team's record back.
// A model that proved accurate (small σ²) dominates; an undertrained one (few trees, σ² near the
// statistical prior's variance) is tempered by the counting that already works. The team's record
// (s successes in n runs, weighted by w, see below) is then the likelihood of L; the Laplace approximation gives the
// posterior N(L̂, 1/P): L̂ the mode (Newton's method from the prior mean μ₀, a few steps: one step
// alone undershoots a record far from the prior, e.g. 15/16 against a 63% prior),
//   P = P₀ + n q (1 − q),   q = sigmoid(L̂).
// The answer at the request's complexity c moves L̂ by the model's own complexity effect:
//   μ = L̂ + logit p_m(c) − logit p_m(c̄),   v = 1 / P.
// So a team's record corrects its level while the model supplies how complexity changes it (the
// old Beta(8 p_m + s, 8 (1 − p_m) + f) replaced the model by the team's complexity-blind average
// once n ≫ 8, which cost accuracy). The record weight w ∈ [0, 1] exists because the model was
// trained on that very record: an undertrained model (a few trees on 10^3 rows) gains much from
// counting it again, a well-trained one only noise (the record averages over complexities). The
// trainer chooses w on its holdout rows among values that include 0, so the served probability
// is never worse there than the model's own (team-uncertainty.ts).
//
// What is reported from X ~ N(μ, v), μ = logit p_m(c) + δ̂, v = 1/P:
// - the probability: E[sigmoid(X)] ≈ sigmoid(μ / √(1 + π v / 8)) (the probit approximation);
// - the interval: sigmoid(μ ± z √v), z for the requested level;
// - a Beta with the same mean and variance (delta method), for Thompson sampling;
// - the ranking probability: sigmoid(μ − RANKING_Z √v), a lower quantile. The greedy pick is the
//   argmax over up to 256 candidates: ranked by their means it picks whichever estimate erred
//   highest (the winner's curse: teams seen a few times whose model score is high), so it is ranked
//   by what the team achieves with 84% posterior probability.
import type { BetaPosterior } from "./beta.js";
import { normalQuantile } from "./normal.js";

/** Posterior standard deviations below the mean at which the greedy pick ranks model estimates. */
export const RANKING_Z = 1;

/** Most Newton steps toward the posterior mode (it converges in 3–5 from the prior mean). */
const NEWTON_STEPS = 20;

/** Pseudo-observations a moment-matched Beta never goes below (it would be U-shaped). */
const MIN_BETA_STRENGTH = 2;

/** What the model, the statistics and the record say of one team. */
export interface ModelTeamInput {
  /** The model's probability at the request's complexity. */
  modelProbability: number;
  /** The model's probability at the team's own mean complexity (2.0 for a team never run). */
  recordProbability: number;
  executions: number;
  successes: number;
  /** σ² of the team's log-odds deviation from the model, for its number of rows. */
  priorVariance: number;
  /** The statistical prior Beta(strength · mean, strength · (1 − mean)), before the record; none: the model's alone. */
  statisticalPrior?: { mean: number; strength: number };
  /**
   * How much of the record counts, in [0, 1]: the model learned from these very executions, so
   * counting them again in full can double-count them. Chosen by the trainer on holdout rows.
   */
  recordWeight: number;
}

/** The posterior of one team's success probability at the request's complexity. */
export interface ModelTeamPosterior {
  /** μ and v of the log-odds. */
  logitMean: number;
  logitVariance: number;
  /** E[p]. */
  probability: number;
  /** sigmoid(μ − RANKING_Z √v): what the greedy pick is ranked by. */
  rankingProbability: number;
  /** A Beta with the same mean and variance. */
  beta: BetaPosterior;
  /** The central interval at `level`. */
  interval(level: number): { lower: number; upper: number; level: number };
}

/** Combines the model's probability with the team's record and the model's measured uncertainty. */
export function modelTeamPosterior(input: ModelTeamInput): ModelTeamPosterior {
  const modelLevel = logit(clampProbability(input.recordProbability));
  const modelPrecision = 1 / Math.max(1e-6, input.priorVariance);
  const m = clampProbability(input.statisticalPrior?.mean ?? 0.5);
  const statisticalPrecision = input.statisticalPrior ? (Math.max(0, input.statisticalPrior.strength) + 1) * m * (1 - m) : 0;
  let level = (modelPrecision * modelLevel + statisticalPrecision * logit(m)) / (modelPrecision + statisticalPrecision);
  let precision = Math.max(modelPrecision, statisticalPrecision);
  const executions = input.executions * input.recordWeight;
  const successes = input.successes * input.recordWeight;
  if (executions > 0) {
    // The posterior mode of L: Newton's method on the concave log posterior, from the prior mean.
    const prior = { mean: level, precision };
    for (let i = 0; i < NEWTON_STEPS; i++) {
      const q = sigmoid(level);
      precision = prior.precision + executions * q * (1 - q);
      const step = (successes - executions * q - prior.precision * (level - prior.mean)) / precision;
      level += step;
      if (Math.abs(step) < 1e-9) break;
    }
    const q = sigmoid(level);
    precision = prior.precision + executions * q * (1 - q);
  }
  const logitMean = level + logit(clampProbability(input.modelProbability)) - modelLevel;
  const logitVariance = 1 / precision;
  const sd = Math.sqrt(logitVariance);
  const probability = sigmoid(logitMean / Math.sqrt(1 + (Math.PI * logitVariance) / 8));
  // Delta method: Var p ≈ (p (1 − p))² v; the Beta with this mean and variance has
  // α + β = p (1 − p) / Var p − 1.
  const spread = probability * (1 - probability);
  const strength = Math.max(MIN_BETA_STRENGTH, 1 / (spread * logitVariance) - 1);
  return {
    logitMean,
    logitVariance,
    probability,
    rankingProbability: sigmoid(logitMean - RANKING_Z * sd),
    beta: { alpha: strength * probability, beta: strength * (1 - probability) },
    interval(level) {
      const z = normalQuantile(0.5 + level / 2);
      return { lower: sigmoid(logitMean - z * sd), upper: sigmoid(logitMean + z * sd), level };
    },
  };
}

const clampProbability = (p: number) => Math.min(1 - 1e-6, Math.max(1e-6, p));
const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
