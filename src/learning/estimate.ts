// The statistical estimate of how one team (a set of agents) will do on one task type: success
// probability with its credible interval, duration with its interval, and a confidence.
//
// Method:
// - Success: a hierarchical Beta model. The team's prior mean comes from the task type's rate, its
//   agents' rates and the worst failing pair inside it, all from evidence outside the team's own
//   executions (see team-prior.ts); the posterior adds the team's own record:
//   Beta(κ m + s, κ (1 − m) + f), κ = min(8, 2 + n_T). The reported probability is its mean, and
//   the interval its central credible interval (90% by default). A team seen twice (2/2) therefore
//   sits near its prior, while one seen 200 times (190/200) sits near its record, and the first
//   cannot outrank the second unless the task type's evidence says teams there nearly always succeed.
// - Duration: a log-normal fit of ln(1 + seconds), shrunk toward the agents' and the task type's
//   (see team-duration.ts). Unknown (0, zero-width interval) when the task type has no executions.
// - Confidence: 1 − (upper − lower) of the success interval; in [0, 1], it grows with evidence.
// - Source: "catalog" when the task type has no executions at all (cold start: the prior is
//   Beta(1, 1) and only the catalog chose the team), else "statistical".
// Teams are sets: the order agents are given in does not change the estimate.
import { teamLabel } from "../domain/team.js";
import { type BetaPosterior, betaInterval, betaMean } from "./beta.js";
import { type LogDurationDistribution, normalLogDuration } from "./deadline.js";
import type { TaskEvidence } from "./evidence.js";
import { estimateDuration } from "./team-duration.js";
import { type EvidenceIndex, indexEvidence, type TeamPrior, teamPrior } from "./team-prior.js";

/** Coverage of the reported intervals unless the caller asks for another. */
export const DEFAULT_LEVEL = 0.9;

/** A closed interval and its coverage, as the proto's Interval. */
export interface Interval {
  lower: number;
  upper: number;
  level: number;
}

/** Everything reported about one team on one task type. */
export interface Estimate {
  successProbability: number;
  successInterval: Interval;
  expectedDurationSeconds: number;
  durationInterval: Interval;
  /** The predictive distribution of ln(1 + seconds) behind the duration; absent when unknown. */
  logDuration?: LogDurationDistribution;
  confidence: number;
  /** Executions of exactly this team on this task type. */
  sampleSize: number;
  /** The success posterior, for Thompson sampling. */
  posterior: BetaPosterior;
  /**
   * What the greedy ranking ranks this team's success by, when not its mean: model estimates give
   * a lower posterior quantile (see model-posterior.ts), against the winner's curse.
   */
  rankingProbability?: number;
  source: "statistical" | "catalog" | "model";
  /** The model version behind a "model" estimate. */
  modelVersion?: string;
  rationale: string;
}

/** Estimates one team on a task type from the evidence (PredictOutcome, and each candidate of PredictAgents). */
export function estimateCombination(evidence: TaskEvidence, agents: string[], options?: { level?: number }): Estimate {
  return estimateTeam(indexEvidence(evidence), agents, options?.level ?? DEFAULT_LEVEL);
}

/** estimateCombination over an already indexed evidence, for ranking many teams. */
export function estimateTeam(index: EvidenceIndex, agents: readonly string[], level: number = DEFAULT_LEVEL): Estimate {
  const prior = teamPrior(index, agents);
  const own = prior.own;
  const posterior: BetaPosterior = {
    alpha: prior.strength * prior.mean + own.successes,
    beta: prior.strength * (1 - prior.mean) + (own.executions - own.successes),
  };
  const successInterval = betaInterval(posterior, level);
  const task = index.evidence.task;
  const duration = estimateDuration(
    task,
    own,
    prior.agents.map((a) => a.outside),
    level,
  );
  return {
    successProbability: betaMean(posterior),
    successInterval,
    expectedDurationSeconds: duration.expected,
    durationInterval: { lower: duration.lower, upper: duration.upper, level },
    ...(duration.known ? { logDuration: normalLogDuration(duration.logMean, duration.logSd) } : {}),
    confidence: Math.min(1, Math.max(0, 1 - (successInterval.upper - successInterval.lower))),
    sampleSize: own.executions,
    posterior,
    source: task.executions === 0 ? "catalog" : "statistical",
    rationale: rationale(index, prior),
  };
}

const percent = (p: number) => `${Math.round(p * 100)}%`;

/** One line naming the evidence behind the estimate, most specific first. */
function rationale(index: EvidenceIndex, prior: TeamPrior): string {
  const { task, taskType } = index.evidence;
  if (task.executions === 0) {
    return `no executions of ${taskType} yet: team chosen from the agent catalog, success prior Beta(1, 1); duration unknown (reported as 0)`;
  }
  const own = prior.own;
  const parts = [
    own.executions > 0 ? `this team ${own.successes}/${own.executions} here` : "this team never tried here",
    `prior ${percent(prior.mean)} from its agents' records (task ${taskType} ${task.successes}/${task.executions})`,
  ];
  const pair = prior.worstPair;
  if (pair) {
    parts.push(`lowered by the pair ${teamLabel(pair.agents)} (${pair.outside.successes}/${pair.outside.executions} in other teams)`);
  }
  parts.push(
    own.executions > 0
      ? `duration from its ${own.executions} run(s), shrunk toward its agents'`
      : "duration from its agents' and the task type's",
  );
  return parts.join("; ");
}
