// Evaluates several target policies on one log of credited decisions, on success and on
// duration, with the estimators of off-policy.ts: what EvaluatePolicies answers and what the
// simulator's coverage test holds against the truth.
import { evaluatePolicy, type PolicyValue } from "./off-policy.js";
import { deterministicTerms, type LoggedDecision, loggingTerms, type Outcome, type RewardModel, uniformTerms } from "./target-policies.js";
import type { DecisionTerms } from "./off-policy.js";

/** A policy to judge: the terms it gives one decision, or undefined where it is not defined (it is then judged on the rest). */
export interface TargetPolicy {
  name: string;
  /** One line saying what the policy does. */
  description: string;
  terms(d: LoggedDecision, outcome: Outcome, model?: RewardModel): DecisionTerms | undefined;
}

/** The reward models of the direct method, one per outcome. */
export interface RewardModels {
  success: RewardModel;
  duration: RewardModel;
}

/** One policy's estimated success rate and mean duration. */
export interface PolicyEvaluation {
  name: string;
  description: string;
  success: PolicyValue;
  duration: PolicyValue;
}

/** Judges each policy on the decisions where it is defined, on both outcomes. */
export function evaluatePolicies(
  decisions: readonly LoggedDecision[],
  policies: readonly TargetPolicy[],
  models?: RewardModels,
): PolicyEvaluation[] {
  return policies.map((policy) => ({
    name: policy.name,
    description: policy.description,
    success: evaluatePolicy(termsOf(decisions, policy, "success", models?.success), "probability"),
    duration: evaluatePolicy(termsOf(decisions, policy, "duration", models?.duration), "duration"),
  }));
}

function termsOf(decisions: readonly LoggedDecision[], policy: TargetPolicy, outcome: Outcome, model?: RewardModel): DecisionTerms[] {
  const out: DecisionTerms[] = [];
  for (const d of decisions) {
    const t = policy.terms(d, outcome, model);
    if (t) out.push(t);
  }
  return out;
}

/** The logging policy as it ran (its value is the mean observed outcome). */
export const LOGGING_POLICY: TargetPolicy = {
  name: "logging",
  description: "the policy that ran, exploration included (its mean observed outcome)",
  terms: (d, outcome) => loggingTerms(d, outcome),
};

/** The greedy team the running policy logged for each decision: the logging policy without exploring. */
export const LOGGED_GREEDY_POLICY: TargetPolicy = {
  name: "greedy",
  description: "the running policy's greedy first team in each decision, never exploring",
  terms: (d, outcome, model) => deterministicTerms(d, d.greedyTeam, outcome, model),
};

/** The uniform policy over each decision's candidate teams. */
export const UNIFORM_POLICY: TargetPolicy = {
  name: "uniform",
  description: "a candidate team drawn uniformly in each decision",
  terms: (d, outcome, model) => uniformTerms(d, outcome, model),
};

/** The caller's own default team, on the decisions where the caller offered one. */
export const CALLER_POLICY: TargetPolicy = {
  name: "caller",
  description: "the caller's own default team, where it offered one",
  terms: (d, outcome, model) => (d.callerTeam === undefined ? undefined : deterministicTerms(d, d.callerTeam, outcome, model)),
};

/** A policy that puts first the team `pick` names for a decision's context (e.g. a greedy ranking over today's evidence). */
export function pickPolicy(name: string, description: string, pick: (d: LoggedDecision) => string | undefined): TargetPolicy {
  return {
    name,
    description,
    terms(d, outcome, model) {
      const team = pick(d);
      return team === undefined ? undefined : deterministicTerms(d, team, outcome, model);
    },
  };
}
