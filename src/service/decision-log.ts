import { randomUUID } from "node:crypto";
import type { Estimate } from "../learning/estimate.js";
import type { FirstPick } from "../learning/recommend.js";
import type { DecisionLog, DecisionTeam } from "../store/decisions.js";
import { agentSetKey } from "../store/execution-record.js";

/** What every decision of a request shares. */
export interface DecisionContext {
  requestId: string;
  taskType: string;
  complexity: number;
  mode: string;
  successWeight: number;
  /** The model versions whose estimates ranked the teams; empty: the statistical policy. */
  modelVersions: string[];
  /** During a challenger rollout: its id and the arm that served the request. */
  rollout?: { id: string; arm: "champion" | "challenger" };
}

const teamOf = (
  agentSet: string,
  probability: number,
  e: Pick<Estimate, "successProbability" | "expectedDurationSeconds">,
): DecisionTeam => ({
  agent_set: agentSet,
  probability,
  success_probability: e.successProbability,
  expected_duration_seconds: e.expectedDurationSeconds,
});

function common(
  context: DecisionContext,
): Pick<
  DecisionLog,
  "decision_id" | "request_id" | "task_type" | "complexity" | "mode" | "policy" | "model_versions" | "success_weight" | "rollout_id" | "arm"
> {
  return {
    decision_id: randomUUID(),
    request_id: context.requestId,
    task_type: context.taskType,
    complexity: context.complexity,
    mode: context.mode,
    policy: context.modelVersions.length > 0 ? "model" : "statistical",
    model_versions: context.modelVersions,
    success_weight: context.successWeight,
    ...(context.rollout ? { rollout_id: context.rollout.id, arm: context.rollout.arm } : {}),
  };
}

/** The decision of an answer whose first team the service's policy drew from π (see first-pick.ts). */
export function policyDecision(
  context: DecisionContext,
  pick: FirstPick,
  first: { agents: string[]; propensity: number; recommendationId: string },
): DecisionLog {
  return {
    ...common(context),
    exploration: pick.exploration,
    candidate_count: pick.candidateCount,
    floor_propensity: pick.floor,
    first_agent_set: agentSetKey(first.agents),
    first_propensity: first.propensity,
    greedy_agent_set: agentSetKey(pick.greedy),
    top_teams: pick.top.map((t) => teamOf(t.agentSet, t.probability, t)),
    recommendation_id: first.recommendationId,
  };
}

/**
 * The decision of an observation-mode answer: the caller's own team was returned, a certain choice
 * (propensity 1, no exploration); the service's greedy pick is kept as the greedy team, so the
 * caller's defaults can be evaluated as a policy of their own.
 */
export function callerDecision(
  context: DecisionContext,
  caller: { agents: string[]; estimate: Estimate; recommendationId: string },
  service: { greedy: string[]; candidateCount: number } | undefined,
): DecisionLog {
  return {
    ...common(context),
    exploration: 0,
    candidate_count: Math.max(1, service?.candidateCount ?? 1),
    floor_propensity: 0,
    first_agent_set: agentSetKey(caller.agents),
    first_propensity: 1,
    greedy_agent_set: agentSetKey(service?.greedy ?? caller.agents),
    top_teams: [teamOf(agentSetKey(caller.agents), 1, caller.estimate)],
    recommendation_id: caller.recommendationId,
  };
}
