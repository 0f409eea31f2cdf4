// The evidence of a challenger rollout, read from the decision log: each arm's credited success
// (GetStatus, GetDashboard, GetRollout) and what a promotion is judged on (PromoteChallenger).
import { evaluatePolicies, LOGGING_POLICY } from "../learning/policy-evaluation.js";
import { canaryEvidence, type PromotionEvidence, shadowEvidence } from "../learning/promotion.js";
import { twoSidedZ, wilsonInterval } from "../learning/proportion-interval.js";
import { statisticalRewardModels } from "../learning/reward-models.js";
import { type ShadowChoice, selfNormalizedFromSums, shadowPolicy } from "../learning/shadow-policy.js";
import type { LoggedDecision } from "../learning/target-policies.js";
import type { PolicyValue } from "../learning/off-policy.js";
import { readEvaluationLog } from "../store/evaluation-log.js";
import { type ArmCounts, type RolloutRecord, readArmCounts, readShadowSums, ShadowLogSchema } from "../store/rollouts.js";
import type { ServiceDependencies } from "./dependencies.js";
import { loggedDecisionOf } from "./evaluate-policies.js";

/** An arm's figures, as ArmStatus reports them. */
export interface ArmFigures {
  arm: "champion" | "challenger";
  version: string;
  decisions: number;
  credited: number;
  rate: number;
  lower: number;
  upper: number;
  method: string;
}

/** Level of the arms' reported intervals. */
const ARM_LEVEL = 0.95;

const WILSON_METHOD = "successes / credited executions (whatever team the caller ran), 95% Wilson score interval";
const SHADOW_METHOD =
  "self-normalised IPS on the followed credited decisions (the champion's outcomes weighted by the challenger's first-pick probability / the logged propensity; 0 without weight), 95% delta-method normal interval; PromoteChallenger judges the doubly robust estimate";

const none: ArmCounts = { arm: "champion", decisions: 0, credited: 0, successes: 0 };

/** The champion's version of the rollout's kind, as serving now (else as the rollout started). */
function championVersion(deps: ServiceDependencies, rollout: RolloutRecord): string {
  return deps.runtime.snapshot[rollout.kind]?.version ?? rollout.champion_version ?? "";
}

function counted(arm: ArmCounts, version: string, name: "champion" | "challenger"): ArmFigures {
  const w = wilsonInterval(arm.successes, arm.credited, twoSidedZ(ARM_LEVEL));
  return {
    arm: name,
    version,
    decisions: arm.decisions,
    credited: arm.credited,
    rate: w.rate,
    lower: arm.credited > 0 ? w.lower : 0,
    upper: arm.credited > 0 ? w.upper : 0,
    method: WILSON_METHOD,
  };
}

/** Each arm's credited success since the rollout started, champion first. */
export async function armFigures(deps: ServiceDependencies, rollout: RolloutRecord): Promise<ArmFigures[]> {
  const counts = await readArmCounts(deps.pool, rollout.id);
  const champion = counts.find((c) => c.arm === "champion") ?? none;
  const championArm = counted(champion, championVersion(deps, rollout), "champion");
  if (rollout.mode === "canary") {
    const challenger = counts.find((c) => c.arm === "challenger") ?? { ...none, arm: "challenger" };
    return [championArm, counted(challenger, rollout.version, "challenger")];
  }
  const sums = await readShadowSums(deps.pool, rollout.id);
  const estimate = selfNormalizedFromSums(
    {
      n: sums.credited,
      weightSum: sums.weight_sum,
      weightedSuccesses: sums.weighted_successes,
      weightSqSum: sums.weight_sq_sum,
      weightSqSuccesses: sums.weight_sq_successes,
    },
    twoSidedZ(ARM_LEVEL),
  );
  return [
    championArm,
    {
      arm: "challenger",
      version: rollout.version,
      decisions: sums.decisions,
      credited: sums.credited,
      rate: estimate?.value ?? 0,
      lower: estimate?.lower ?? 0,
      upper: estimate?.upper ?? 0,
      method: SHADOW_METHOD,
    },
  ];
}

/** What PromoteChallenger judges: the canary's arms, or the shadow's off-policy value against the champion's. */
export async function promotionEvidence(deps: ServiceDependencies, rollout: RolloutRecord, confidence: number): Promise<PromotionEvidence> {
  if (rollout.mode === "canary") {
    const counts = await readArmCounts(deps.pool, rollout.id);
    const arm = (name: string) => counts.find((c) => c.arm === name) ?? none;
    return canaryEvidence(arm("champion"), arm("challenger"), confidence);
  }
  const { challenger, champion } = await shadowValues(deps, rollout);
  return shadowEvidence(challenger, champion, confidence);
}

/**
 * The shadow challenger's and the champion's success on the followed credited decisions of the
 * rollout: the challenger off-policy (shadow-policy.ts), the champion as it ran (the logging policy).
 */
async function shadowValues(
  deps: ServiceDependencies,
  rollout: RolloutRecord,
): Promise<{ challenger: PolicyValue; champion: PolicyValue }> {
  const id = String(rollout.id);
  const rows = await readEvaluationLog(deps.pool, { sinceMs: Number(rollout.started_at_us / 1000n) });
  const shadows = new Map<LoggedDecision, ShadowChoice>();
  for (const row of rows) {
    if (!row.followed) continue;
    const shadow = ShadowLogSchema.safeParse(row.shadow);
    if (!shadow.success || shadow.data.rollout_id !== id) continue;
    shadows.set(loggedDecisionOf(row), {
      probabilities: new Map(shadow.data.top_teams.map((t) => [t.agent_set, t.probability])),
      floor: shadow.data.floor,
    });
  }
  const decisions = [...shadows.keys()];
  const taskTypes = [...new Set(decisions.map((d) => d.taskType))];
  const evidence = new Map(await Promise.all(taskTypes.map(async (t) => [t, await deps.evidence.get(t)] as const)));
  const models = statisticalRewardModels((t) => evidence.get(t)!);
  const [challenger, champion] = evaluatePolicies(decisions, [shadowPolicy((d) => shadows.get(d)), LOGGING_POLICY], models);
  return { challenger: challenger!.success, champion: champion!.success };
}
