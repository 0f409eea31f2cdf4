// A team's duration in one task type, as a log-normal fit of ln(1 + seconds) (the +1 keeps
// instant runs finite). Method, with κ_d = 5 pseudo-executions and m_T, v_T the task type's mean
// and variance of ln(1 + d):
// - each agent's mean from its executions in other teams, shrunk toward m_T:
//   μ_a = (n_a m_a + κ_d m_T) / (n_a + κ_d); an agent never seen here gets m_T;
// - the team's mean, shrunk toward the mean of its agents' μ_a with weight n / (n + κ_d) on its own
//   record, so a team seen once moves only a sixth of the way to what that one run showed;
// - its variance pooled with the task type's: ((n − 1) v + κ_d v_T) / ((n − 1) + κ_d);
// - expected duration exp(μ + σ²/2) − 1 (the log-normal mean), interval exp(μ ± z σ) − 1 clamped
//   at 0, z the normal quantile of the level (1.645 at 90%).
// A task type with no executions has no duration to go on: 0, with a zero-width interval.
import { logDurationMoments, type OutcomeSums } from "./evidence.js";
import { normalCdf } from "./normal.js";

/** Pseudo-executions pulling a team's (or agent's) mean log duration toward the level above. */
export const DURATION_PRIOR_STRENGTH = 5;

/** A duration estimate in seconds. */
export interface DurationEstimate {
  expected: number;
  lower: number;
  upper: number;
  /** Whether there was any duration to go on (false on cold start). */
  known: boolean;
  /** The fit itself: ln(1 + seconds) ~ N(logMean, logSd²); 0 and 0 when unknown. */
  logMean: number;
  logSd: number;
}

/** The standard normal quantile, by bisection on Φ (accurate to Φ's own 1e-7). */
export function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function shrunkMean(sums: OutcomeSums, target: number): number {
  return (sums.logDurationSum + DURATION_PRIOR_STRENGTH * target) / (sums.executions + DURATION_PRIOR_STRENGTH);
}

/** The log-normal duration of a team from its own record, its agents' records elsewhere and the task type's. */
export function estimateDuration(task: OutcomeSums, own: OutcomeSums, agentsOutside: OutcomeSums[], level: number): DurationEstimate {
  if (task.executions === 0) return { expected: 0, lower: 0, upper: 0, known: false, logMean: 0, logSd: 0 };
  const taskMoments = logDurationMoments(task);
  const agentMeans = agentsOutside.map((sums) => shrunkMean(sums, taskMoments.mean));
  const target = agentMeans.length > 0 ? agentMeans.reduce((a, b) => a + b, 0) / agentMeans.length : taskMoments.mean;
  const mu = shrunkMean(own, target);

  const ownMoments = logDurationMoments(own);
  const ownDegrees = Math.max(0, own.executions - 1);
  const variance =
    (ownDegrees * ownMoments.variance + DURATION_PRIOR_STRENGTH * taskMoments.variance) / (ownDegrees + DURATION_PRIOR_STRENGTH);
  const sigma = Math.sqrt(variance);
  const z = normalQuantile((1 + level) / 2);
  return {
    expected: Math.max(0, Math.exp(mu + variance / 2) - 1),
    lower: Math.max(0, Math.exp(mu - z * sigma) - 1),
    upper: Math.max(0, Math.exp(mu + z * sigma) - 1),
    known: true,
    logMean: mu,
    logSd: sigma,
  };
}

/** The task type's typical (median) duration exp(m_T) − 1: the reference speed is measured against. */
export function typicalDuration(task: OutcomeSums): number {
  return task.executions === 0 ? 0 : Math.max(0, Math.exp(logDurationMoments(task).mean) - 1);
}
