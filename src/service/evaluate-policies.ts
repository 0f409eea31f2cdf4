// EvaluatePolicies: off-policy estimates of several policies on the credited decision log. Reads
// the log once, evaluates in this process (a pure pass over the decisions; 10^5 decisions take
// about a second, see the bench), and yields to the event loop between policies so predictions
// keep flowing while it runs.
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { z } from "zod";
import {
  type EvaluatePoliciesRequest,
  type EvaluatePoliciesResponse,
  EvaluatePoliciesResponseSchema,
} from "../../gen/agentlearning/v1/evaluation_pb.js";
import { teamKey } from "../domain/team.js";
import type { TaskEvidence } from "../learning/evidence.js";
import {
  CALLER_POLICY,
  evaluatePolicies as evaluateOn,
  LOGGED_GREEDY_POLICY,
  LOGGING_POLICY,
  type PolicyEvaluation,
  pickPolicy,
  type TargetPolicy,
  UNIFORM_POLICY,
} from "../learning/policy-evaluation.js";
import { recommend } from "../learning/recommend.js";
import { type ShadowChoice, shadowPolicy } from "../learning/shadow-policy.js";
import { statisticalRewardModels } from "../learning/reward-models.js";
import type { LoggedDecision } from "../learning/target-policies.js";
import { type EvaluatedDecision, readEvaluationLog } from "../store/evaluation-log.js";
import { ShadowLogSchema } from "../store/rollouts.js";
import type { ServiceDependencies } from "./dependencies.js";
import { EVALUATION_METHOD, policyEvaluationToProto } from "./evaluation-mapping.js";
import { greedyRequestOf, modelVersionPolicies } from "./model-version-policies.js";
import { DEFAULT_SUCCESS_WEIGHT } from "./predict-request.js";
import { parseRequest, taskTypeSchema, timestampSchema } from "./validation.js";

const requestSchema = z
  .object({
    since: timestampSchema,
    taskType: z.union([z.literal(""), taskTypeSchema]),
  })
  .transform((r) => ({
    ...(r.since === null ? {} : { sinceMs: Number(r.since / 1000n) }),
    ...(r.taskType === "" ? {} : { taskType: r.taskType }),
  }));

/** The logged decision as the estimators see it. */
export function loggedDecisionOf(row: EvaluatedDecision): LoggedDecision {
  return {
    taskType: row.task_type,
    complexity: row.complexity,
    successWeight: row.success_weight,
    team: row.first_agent_set,
    propensity: row.first_propensity,
    success: row.success,
    durationSeconds: row.duration_seconds,
    loggingProbabilities: new Map(row.top_teams.map((t) => [t.agent_set, t.probability])),
    floorPropensity: row.floor_propensity,
    candidateCount: row.candidate_count,
    greedyTeam: row.greedy_agent_set,
    ...(row.caller_agent_set === null ? {} : { callerTeam: row.caller_agent_set }),
  };
}

/**
 * Today's statistical greedy pick per task type and success weight (the request's constraints are
 * not logged, so it is the unconstrained pick), as a policy over the decisions.
 */
function greedyStatisticalPolicy(evidence: ReadonlyMap<string, TaskEvidence>): TargetPolicy {
  const picks = new Map<string, string | undefined>();
  const never = () => 0;
  return pickPolicy(
    "greedy-statistical",
    "today's statistical greedy team for the decision's task type and success weight, never exploring",
    (d) => {
      const w = d.successWeight ?? DEFAULT_SUCCESS_WEIGHT;
      // The statistical ranking does not use the complexity (estimate.ts), so one pick serves every
      // decision of the task type and weight.
      const key = `${d.taskType}\u0000${w}`;
      if (!picks.has(key)) {
        const e = evidence.get(d.taskType);
        const greedy = e ? recommend(e, greedyRequestOf(d), never).firstPick?.greedy : undefined;
        picks.set(key, greedy ? teamKey(greedy) : undefined);
      }
      return picks.get(key);
    },
  );
}

/**
 * One policy per model version scored in shadow on any of the decisions ("shadow:<version>"),
 * defined on the decisions it was scored on, with the first-pick probabilities it logged there.
 */
function shadowPolicies(rows: readonly EvaluatedDecision[], decisions: readonly LoggedDecision[]): TargetPolicy[] {
  const byVersion = new Map<string, Map<LoggedDecision, ShadowChoice>>();
  rows.forEach((row, i) => {
    const shadow = ShadowLogSchema.safeParse(row.shadow);
    if (!shadow.success) return;
    const choices = byVersion.get(shadow.data.version) ?? new Map<LoggedDecision, ShadowChoice>();
    byVersion.set(shadow.data.version, choices);
    choices.set(decisions[i]!, {
      probabilities: new Map(shadow.data.top_teams.map((t) => [t.agent_set, t.probability])),
      floor: shadow.data.floor,
    });
  });
  return [...byVersion].map(([version, choices]) =>
    shadowPolicy(
      (d) => choices.get(d),
      `shadow:${version}`,
      `model ${version} in shadow: its own first-pick probabilities in each decision it was scored on`,
    ),
  );
}

/** EvaluatePolicies: reads the credited decisions under the filter and evaluates every policy on the followed ones. */
export async function evaluatePolicies(
  deps: ServiceDependencies,
  request: EvaluatePoliciesRequest,
  signal: AbortSignal,
): Promise<EvaluatePoliciesResponse> {
  const started = performance.now();
  const filter = parseRequest(requestSchema, request);
  // Every decision made so far counts, also those whose log is still queued.
  await deps.recommendationLog.flush();
  const rows = await readEvaluationLog(deps.pool, filter);
  const followed = rows.filter((r) => r.followed);
  const taskTypes = [...new Set(followed.map((r) => r.task_type))];
  const evidence = new Map(await Promise.all(taskTypes.map(async (t) => [t, await deps.evidence.get(t)] as const)));
  signal.throwIfAborted();

  const decisions = followed.map(loggedDecisionOf);
  const models = statisticalRewardModels((t) => evidence.get(t)!);
  const policies = [
    LOGGING_POLICY,
    LOGGED_GREEDY_POLICY,
    greedyStatisticalPolicy(evidence),
    ...(await modelVersionPolicies(deps, decisions, (t) => evidence.get(t), signal)),
    UNIFORM_POLICY,
    CALLER_POLICY,
    ...shadowPolicies(followed, decisions),
  ];
  const evaluations: PolicyEvaluation[] = [];
  for (const policy of policies) {
    evaluations.push(...evaluateOn(decisions, [policy], models));
    await yieldToEventLoop();
    signal.throwIfAborted();
  }
  return create(EvaluatePoliciesResponseSchema, {
    creditedCount: BigInt(rows.length),
    followedCount: BigInt(followed.length),
    notFollowedCount: BigInt(rows.length - followed.length),
    policies: evaluations.map(policyEvaluationToProto),
    method: EVALUATION_METHOD,
    elapsedSeconds: (performance.now() - started) / 1000,
  });
}
