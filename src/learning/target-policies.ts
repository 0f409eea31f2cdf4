// The policies off-policy evaluation can judge, each turned into the per-decision terms of
// off-policy.ts: the target's probability of the logged team, the share of its probability on
// teams the logging policy could choose, and the reward model's value under it.
//
// A logged decision counts only when the caller ran the team the service put first (see
// `LoggedDecision`): its outcome is then the logged team's outcome, drawn with the logged
// propensity. When the caller ran another team, the outcome belongs to no team the logging
// policy chose with a known probability; such decisions are left out and counted apart, which
// is unbiased only if whether callers follow does not depend on the team recommended.
import type { DecisionTerms } from "./off-policy.js";

/** One credited decision: what the logging policy put first, with what probability, and what happened. */
export interface LoggedDecision {
  taskType: string;
  complexity: number;
  /** The request's weight of success against speed, in [0, 1], when logged. */
  successWeight?: number;
  /** The team put first, as a team key (its agents sorted, joined by ",", as the store's agent_set), which the caller ran. */
  team: string;
  /** The logging policy's probability of putting `team` first, in (0, 1]. */
  propensity: number;
  success: boolean;
  durationSeconds: number;
  /** The logging policy's first-pick probabilities, by team key, for the teams it logged (at least `team`). */
  loggingProbabilities: ReadonlyMap<string, number>;
  /**
   * The first-pick probability of every candidate not in `loggingProbabilities` (the policy's
   * floor; 0 or absent when it had none). A team not listed is taken to be such a candidate: the
   * log holds the candidates' number, not the candidates, so a team that was not a candidate at all
   * (and so had no support) cannot be told from one at the floor.
   */
  floorPropensity?: number;
  /** How many candidate teams the logging policy chose among. */
  candidateCount: number;
  /**
   * The candidate teams themselves, when known (the simulator knows them; the service logs only
   * their count): needed for the direct-method part of the uniform policy.
   */
  candidates?: readonly string[];
  /** The greedy first team of the policy that ran (what it puts first without exploring). */
  greedyTeam: string;
  /** The caller's own team, when it offered one (observation mode logs it). */
  callerTeam?: string;
}

/** One team a target policy may put first, with its probability. */
export interface TargetChoice {
  team: string;
  probability: number;
}

/** A reward model: the predicted reward (success probability, or seconds) of a team in a decision's context. */
export type RewardModel = (decision: LoggedDecision, team: string) => number;

/** Which outcome a policy is judged on. */
export type Outcome = "success" | "duration";

/** The observed reward of a decision on one outcome. */
export function rewardOf(d: LoggedDecision, outcome: Outcome): number {
  return outcome === "success" ? (d.success ? 1 : 0) : d.durationSeconds;
}

/** The logging policy's probability of a team in a decision: as logged, else the floor (0 without one). */
export function loggingProbability(d: LoggedDecision, team: string): number {
  return d.loggingProbabilities.get(team) ?? d.floorPropensity ?? 0;
}

/**
 * The logging policy as it ran: every weight is 1, so each estimator is the mean observed reward
 * (the on-policy value); no model is needed.
 */
export function loggingTerms(d: LoggedDecision, outcome: Outcome): DecisionTerms {
  return {
    reward: rewardOf(d, outcome),
    propensity: d.propensity,
    targetProbability: d.propensity,
    supportedMass: 1,
    modelLogged: 0,
    modelTarget: 0,
  };
}

/** A policy that puts one stated team first in this decision (greedy policies, the caller's default). */
export function deterministicTerms(d: LoggedDecision, team: string, outcome: Outcome, model?: RewardModel): DecisionTerms {
  return distributionTerms(d, [{ team, probability: 1 }], outcome, model);
}

/** A policy that puts each of several teams first with a stated probability (summing to 1). */
export function distributionTerms(
  d: LoggedDecision,
  choices: readonly TargetChoice[],
  outcome: Outcome,
  model?: RewardModel,
): DecisionTerms {
  let targetProbability = 0;
  let supportedMass = 0;
  let modelTarget = 0;
  for (const c of choices) {
    if (c.team === d.team) targetProbability += c.probability;
    if (loggingProbability(d, c.team) > 0) supportedMass += c.probability;
    if (model) modelTarget += c.probability * model(d, c.team);
  }
  return {
    reward: rewardOf(d, outcome),
    propensity: d.propensity,
    targetProbability,
    supportedMass,
    ...(model ? { modelLogged: model(d, d.team), modelTarget } : {}),
  };
}

/**
 * The uniform policy over the decision's candidates: probability 1/K for the logged team. Its
 * support is the share of candidates the logging policy gave positive probability; the direct
 * method needs the candidate list, so without it there is no doubly robust term.
 */
export function uniformTerms(d: LoggedDecision, outcome: Outcome, model?: RewardModel): DecisionTerms {
  const k = Math.max(1, d.candidateCount);
  const listed = [...d.loggingProbabilities.values()].filter((p) => p > 0).length;
  const supported = d.candidates
    ? d.candidates.filter((t) => loggingProbability(d, t) > 0).length
    : (d.floorPropensity ?? 0) > 0
      ? k
      : listed;
  const base: DecisionTerms = {
    reward: rewardOf(d, outcome),
    propensity: d.propensity,
    targetProbability: 1 / k,
    supportedMass: Math.min(1, supported / k),
  };
  if (!model || !d.candidates || d.candidates.length === 0) return base;
  const modelTarget = d.candidates.reduce((sum, t) => sum + model(d, t), 0) / d.candidates.length;
  return { ...base, modelLogged: model(d, d.team), modelTarget };
}
