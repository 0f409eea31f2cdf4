import { agentSetKey } from "../store/execution-record.js";
import type { TaskEvidence } from "../learning/evidence.js";
import type { RecommendRequest } from "../learning/ranking.js";
import { recommend } from "../learning/recommend.js";
import type { ShadowLog } from "../store/rollouts.js";
import type { ServiceDependencies } from "./dependencies.js";
import { type Challenger, challengerSnapshot } from "./rollout-state.js";

/**
 * Scores a shadow challenger on one PredictAgents call: the same evidence, request and candidate
 * list as the champion, ranked with the challenger's estimates (one batched ONNX run per candidate
 * list and complexity, memoised by ModelEstimates like the champion's; no SQL), its first team
 * drawn as it would have drawn it. Answers the record logged in decisions.shadow, or undefined
 * when no team may go first. Never returned to the caller.
 */
export async function scoreShadow(
  deps: Pick<ServiceDependencies, "estimates" | "recommendMemo" | "random" | "runtime">,
  challenger: Challenger,
  evidence: TaskEvidence,
  request: RecommendRequest,
  candidates: string[][],
): Promise<ShadowLog | undefined> {
  const snapshot = challengerSnapshot(challenger, deps.runtime.snapshot);
  const override = await deps.estimates.override(snapshot, evidence, request.complexity, candidates);
  // One recommendation is enough: the ranking (memoised per snapshot, shape and model key) and π
  // are what is logged, and the first slot is the pick.
  const ranked = recommend(evidence, { ...request, maxRecommendations: 1 }, deps.random, override, deps.recommendMemo);
  const pick = ranked.firstPick;
  const first = ranked.recommendations[0];
  if (!pick || !first) return undefined;
  return {
    rollout_id: String(challenger.rollout.id),
    version: challenger.model.version,
    model_versions: first.modelVersion ? [first.modelVersion] : [],
    pick: agentSetKey(first.agents),
    greedy: agentSetKey(pick.greedy),
    floor: pick.floor,
    candidate_count: pick.candidateCount,
    top_teams: pick.top.map((t) => ({
      agent_set: t.agentSet,
      probability: t.probability,
      success_probability: t.successProbability,
      expected_duration_seconds: t.expectedDurationSeconds,
    })),
  };
}
