import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  ObservationReportSchema,
  type PredictAgentsRequest,
  type PredictAgentsResponse,
  PredictAgentsResponseSchema,
} from "../../gen/agentlearning/v1/learning_service_pb.js";
import { EstimateSource, type Recommendation, RecommendationSchema } from "../../gen/agentlearning/v1/learning_pb.js";
import type { Estimate } from "../learning/estimate.js";
import { estimateCombination } from "../learning/estimate.js";
import { defaultExploration, MODE_POLICIES } from "../learning/mode-policy.js";
import { servesChallenger } from "../learning/canary-routing.js";
import { recommend } from "../learning/recommend.js";
import { deadlineExplanation } from "./deadline-explanation.js";
import { readObservationStats } from "../store/accuracy.js";
import { agentSetKey } from "../store/execution-record.js";
import type { RecommendationLog } from "../store/recommendations.js";
import { callerDecision, type DecisionContext, policyDecision } from "./decision-log.js";
import type { AccuracyCache } from "./accuracy-cache.js";
import type { ServiceDependencies } from "./dependencies.js";
import { LEARNING_MODES } from "./learning-mode.js";
import { parsePredictAgents } from "./predict-request.js";
import type { Challenger } from "./rollout-state.js";
import { scoreShadow } from "./shadow-scoring.js";

/** Estimate sources as the API names them. */
export const ESTIMATE_SOURCES: Record<Estimate["source"], EstimateSource> = {
  statistical: EstimateSource.STATISTICAL,
  catalog: EstimateSource.CATALOG,
  model: EstimateSource.MODEL,
};

function toProto(
  id: string,
  agents: string[],
  e: Estimate,
  extra: { propensity: number; exploratory: boolean; deadlineProbability?: number },
): Recommendation {
  return create(RecommendationSchema, {
    recommendationId: id,
    agents,
    successProbability: e.successProbability,
    successInterval: e.successInterval,
    expectedDurationSeconds: e.expectedDurationSeconds,
    durationInterval: e.durationInterval,
    confidence: e.confidence,
    rationale: e.rationale,
    propensity: extra.propensity,
    exploratory: extra.exploratory,
    source: ESTIMATE_SOURCES[e.source],
    modelVersion: e.modelVersion ?? "",
    sampleSize: BigInt(e.sampleSize),
    deadlineProbability: extra.deadlineProbability ?? 0,
  });
}

/** The arm a request goes to during a rollout: a shadow's calls are the champion's; a canary serves its share. */
function routeArm(
  deps: ServiceDependencies,
  routingKey: string,
): { challenger: Challenger; serves: "champion" | "challenger" } | undefined {
  const challenger = deps.rollout.current;
  if (!challenger) return undefined;
  const { mode, canary_share } = challenger.rollout;
  const canary = mode === "canary" && servesChallenger(canary_share ?? 0, routingKey, deps.random);
  return { challenger, serves: canary ? "challenger" : "champion" };
}

/**
 * PredictAgents: ranks teams for a task from the cached evidence, applies the learning mode, logs
 * every returned recommendation with its propensity and the answer's decision (how its first team
 * was chosen), and answers. The log is queued, not awaited: the batched writer commits it within
 * ~100 ms (recommendation-log-writer.ts); crediting joins executions to it when read, so an id a
 * client holds can be recorded at once.
 */
export async function predictAgents(
  deps: ServiceDependencies,
  accuracy: AccuracyCache,
  request: PredictAgentsRequest,
): Promise<PredictAgentsResponse> {
  const r = parsePredictAgents(request);
  const settings = await deps.settings.get();
  const mode = LEARNING_MODES[settings.learning_mode];
  if (!settings.learning_enabled) {
    return create(PredictAgentsResponseSchema, { applied: false, mode, explanation: "learning is disabled: no recommendation is made" });
  }
  const policy = MODE_POLICIES[settings.learning_mode];
  const [fresh, gap] = await Promise.all([deps.evidence.get(r.taskType), accuracy.calibrationGap()]);
  const exploration = policy.explorationAllowed ? (r.explorationRate ?? defaultExploration(policy, fresh.task.executions)) : 0;
  // Only teams confident enough to be returned may go first, so the propensity logged for the
  // first team is the probability that it is returned first.
  const threshold = policy.threshold(gap);
  const recommendRequest = {
    complexity: r.complexity,
    maxRecommendations: settings.learning_mode === "observation" ? 1 : r.maxRecommendations,
    requiredAgents: r.requiredAgents,
    excludedAgents: r.excludedAgents,
    maxAgents: r.maxAgents,
    successWeight: r.successWeight,
    explorationRate: exploration,
    ...(r.deadline ? { deadline: r.deadline } : {}),
    minConfidence: threshold,
  };
  // One evidence snapshot and one model snapshot for the whole answer, the ones whose ranking is
  // built (a newer snapshot's is built in the background: ranking-cache.ts). During a rollout the
  // policy modes route the request to an arm (in memory: no SQL); each arm's ranking is its own.
  const arm = settings.learning_mode === "observation" ? undefined : routeArm(deps, r.routingKey);
  const snapshot = arm?.serves === "challenger" ? deps.rollout.snapshotOf(arm.challenger, deps.runtime.snapshot) : deps.runtime.snapshot;
  const { evidence, candidates, override } = await deps.rankings.get({ ...recommendRequest, taskType: r.taskType }, snapshot);
  const ranked = recommend(evidence, recommendRequest, deps.random, override, deps.recommendMemo);
  const requestId = randomUUID();
  const modelVersion = ranked.recommendations[0]?.modelVersion ?? null;
  const base = { requestId, taskType: r.taskType, complexity: r.complexity, modelVersion, mode: settings.learning_mode };
  const modelVersions = [...new Set(ranked.recommendations.flatMap((rec) => (rec.modelVersion ? [rec.modelVersion] : [])))];
  const context: DecisionContext = {
    requestId,
    taskType: r.taskType,
    complexity: r.complexity,
    mode: settings.learning_mode,
    successWeight: r.successWeight,
    modelVersions,
    ...(arm ? { rollout: { id: String(arm.challenger.rollout.id), arm: arm.serves } } : {}),
  };

  if (settings.learning_mode === "observation") {
    const pick = ranked.recommendations[0];
    // Read fresh on every call: the report is the evidence for promoting the service. It counts
    // every answer given so far, so the queued logs are written first (one shared batch).
    await deps.recommendationLog.flush();
    const stats = await readObservationStats(deps.pool);
    const observation = create(ObservationReportSchema, {
      servicePick: pick?.agents ?? [],
      comparedCount: stats.compared,
      agreementRate: stats.agreement ?? 0,
      callerSuccessRate: stats.caller_success ?? 0,
      serviceEstimatedSuccessRate: stats.service_estimated ?? 0,
    });
    if (r.callerDefaultAgents.length === 0) {
      return create(PredictAgentsResponseSchema, {
        applied: false,
        mode,
        coldStart: ranked.coldStart,
        observation,
        explanation: "observation mode: pass caller_default_agents to have the service compare its pick with yours",
      });
    }
    const caller = estimateCombination(evidence, r.callerDefaultAgents);
    const id = randomUUID();
    const log: RecommendationLog = {
      ...base,
      recommendationId: id,
      rank: 1,
      agents: r.callerDefaultAgents,
      agentSet: agentSetKey(r.callerDefaultAgents),
      successProbability: caller.successProbability,
      expectedDurationSeconds: caller.expectedDurationSeconds,
      confidence: caller.confidence,
      // The caller chose this team, not the service's policy: logged as a certain choice.
      propensity: 1,
      exploratory: false,
      source: "caller",
      applied: false,
      callerAgentSet: agentSetKey(r.callerDefaultAgents),
      serviceAgentSet: pick ? agentSetKey(pick.agents) : null,
      serviceSuccessProbability: pick?.successProbability ?? null,
    };
    const decision = callerDecision(context, { agents: r.callerDefaultAgents, estimate: caller, recommendationId: id }, ranked.firstPick);
    await deps.recommendationLog.append({ recommendations: [log], decision });
    return create(PredictAgentsResponseSchema, {
      recommendations: [toProto(id, r.callerDefaultAgents, caller, { propensity: 1, exploratory: false })],
      applied: false,
      mode,
      coldStart: ranked.coldStart,
      observation,
      explanation: "observation mode: your own team is returned unchanged; the service's pick is in observation.service_pick",
    });
  }

  const kept = ranked.recommendations.filter((rec) => rec.confidence >= threshold);
  const logs: RecommendationLog[] = kept.map((rec, i) => ({
    ...base,
    recommendationId: randomUUID(),
    rank: i + 1,
    agents: rec.agents,
    agentSet: rec.agentSet,
    successProbability: rec.successProbability,
    expectedDurationSeconds: rec.expectedDurationSeconds,
    confidence: rec.confidence,
    propensity: rec.propensity,
    exploratory: rec.exploratory,
    source: rec.source,
    applied: policy.applied,
    callerAgentSet: r.callerDefaultAgents.length > 0 ? agentSetKey(r.callerDefaultAgents) : null,
    serviceAgentSet: null,
    serviceSuccessProbability: null,
  }));
  // The first team returned is the one the policy drew (it is confident enough by construction).
  const first = kept[0] === ranked.recommendations[0] ? kept[0] : undefined;
  const decision =
    ranked.firstPick && first
      ? policyDecision(context, ranked.firstPick, {
          agents: first.agents,
          propensity: first.propensity,
          recommendationId: logs[0]!.recommendationId,
        })
      : undefined;
  // A shadow challenger is scored on the same request and logged with the decision, never returned.
  // Its failure must never fail the answer: the decision is then logged without it.
  if (decision && arm?.challenger.rollout.mode === "shadow") {
    const shadow = await scoreShadow(deps, arm.challenger, evidence, recommendRequest, candidates).catch((error: unknown) => {
      deps.log.warn({ err: error, version: arm.challenger.model.version }, "shadow scoring failed; decision logged without it");
      return undefined;
    });
    if (shadow) decision.shadow = shadow;
  }
  await deps.recommendationLog.append({ recommendations: logs, decision });
  const dropped = ranked.recommendations.length - kept.length;
  const explanation = [
    ranked.coldStart ? "no history for this task type: teams from the agent catalog, low confidence" : "",
    override
      ? `scored by model ${modelVersion ?? ""}`
      : deps.runtime.snapshot.success
        ? "statistical estimates: the model has too little data for this task type"
        : "",
    ranked.deadline && r.deadline ? deadlineExplanation(ranked.deadline, r.deadline) : "",
    dropped > 0 ? `${dropped} below the ${settings.learning_mode} confidence threshold ${threshold.toFixed(2)}` : "",
    exploration > 0 ? `exploration share ${exploration}` : "",
  ]
    .filter(Boolean)
    .join("; ");
  return create(PredictAgentsResponseSchema, {
    recommendations: kept.map((rec, i) => toProto(logs[i]!.recommendationId, rec.agents, rec, rec)),
    applied: policy.applied && kept.length > 0,
    mode,
    coldStart: ranked.coldStart,
    explanation,
  });
}
