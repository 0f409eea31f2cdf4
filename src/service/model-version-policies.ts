// Stored success model versions as target policies of EvaluatePolicies: what the greedy first pick
// would have been, on each logged decision, had that version served. Each version is loaded into a
// session of its own (and released afterwards) and scored through the same estimates and ranking
// as PredictAgents, on today's evidence and candidates, with memos of its own: an evaluation must
// not evict the serving memos.
import { teamKey } from "../domain/team.js";
import type { TaskEvidence } from "../learning/evidence.js";
import { pickPolicy, type TargetPolicy } from "../learning/policy-evaluation.js";
import { candidatesFor, RecommendMemo, type RecommendRequest } from "../learning/ranking.js";
import { recommend } from "../learning/recommend.js";
import type { LoggedDecision } from "../learning/target-policies.js";
import type { ModelSnapshot, ServingModel } from "../ml/model-runtime.js";
import { listModelVersions, readModelVersion } from "../store/models.js";
import type { ServiceDependencies } from "./dependencies.js";
import { ModelEstimates } from "./model-estimates.js";
import { loadServingModel } from "./model-loader.js";
import { DEFAULT_SUCCESS_WEIGHT } from "./predict-request.js";

/**
 * Versions evaluated at most: the active success version and the newest others the gate accepted.
 * Each costs a session and a ranking per distinct decision context; older versions are rarely a
 * question worth that.
 */
export const MAX_EVALUATED_VERSIONS = 5;

/** The policy name of a version's greedy pick. */
export const modelPolicyName = (version: string): string => `greedy-model:${version}`;

/**
 * The request of a decision's greedy pick, as far as the log holds it: its complexity and success
 * weight, no constraints (they are not logged), exploration off. Shared by every greedy policy.
 */
export function greedyRequestOf(d: LoggedDecision): RecommendRequest {
  return {
    complexity: d.complexity,
    maxRecommendations: 1,
    requiredAgents: [],
    excludedAgents: [],
    maxAgents: 0,
    successWeight: d.successWeight ?? DEFAULT_SUCCESS_WEIGHT,
    explorationRate: 0,
  };
}

/** What a decision's greedy pick depends on: task type, complexity as PredictAgents rounds it, success weight. */
function contextKey(d: LoggedDecision): string {
  return `${d.taskType}\u0000${Math.round(d.complexity * 4) / 4}\u0000${d.successWeight ?? DEFAULT_SUCCESS_WEIGHT}`;
}

/**
 * The greedy policy of each evaluated success version over `decisions`. The duration model is the
 * active one throughout (only the success model differs between the policies). A version whose
 * model does not know a task type ranks it as serving would: by the statistics.
 */
export async function modelVersionPolicies(
  deps: Pick<ServiceDependencies, "pool" | "runtime">,
  decisions: readonly LoggedDecision[],
  evidenceOf: (taskType: string) => TaskEvidence | undefined,
  signal: AbortSignal,
): Promise<TargetPolicy[]> {
  const stored = await listModelVersions(deps.pool, { kind: "success" });
  const chosen = [...stored.filter((v) => v.status === "active"), ...stored.filter((v) => v.status === "inactive")].slice(
    0,
    MAX_EVALUATED_VERSIONS,
  );
  const contexts = new Map<string, LoggedDecision>();
  for (const d of decisions) if (!contexts.has(contextKey(d))) contexts.set(contextKey(d), d);

  const policies: TargetPolicy[] = [];
  for (const summary of chosen) {
    signal.throwIfAborted();
    const record = await readModelVersion(deps.pool, summary.version);
    if (!record) continue; // deleted meanwhile
    const model = await loadServingModel(record);
    try {
      const picks = await greedyPicks({ ...deps.runtime.snapshot, success: model }, contexts, evidenceOf);
      policies.push(
        pickPolicy(
          modelPolicyName(summary.version),
          `greedy first team with success model ${summary.version} (${summary.status}), on today's evidence and candidates, never exploring`,
          (d) => picks.get(contextKey(d)),
        ),
      );
    } finally {
      await model.session.release();
    }
  }
  return policies;
}

/** The greedy first team per decision context under a snapshot, as PredictAgents would rank it with exploration off. */
async function greedyPicks(
  snapshot: ModelSnapshot & { success: ServingModel },
  contexts: ReadonlyMap<string, LoggedDecision>,
  evidenceOf: (taskType: string) => TaskEvidence | undefined,
): Promise<Map<string, string | undefined>> {
  const estimates = new ModelEstimates();
  const memo = new RecommendMemo();
  const never = () => 0;
  const picks = new Map<string, string | undefined>();
  for (const [key, d] of contexts) {
    const evidence = evidenceOf(d.taskType);
    if (!evidence) {
      picks.set(key, undefined);
      continue;
    }
    const request = greedyRequestOf(d);
    const candidates = candidatesFor(evidence, request, memo);
    const override = await estimates.override(snapshot, evidence, d.complexity, candidates);
    const greedy = recommend(evidence, request, never, override, memo).firstPick?.greedy;
    picks.set(key, greedy ? teamKey(greedy) : undefined);
  }
  return picks;
}
