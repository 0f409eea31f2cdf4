// The direct method's reward models for off-policy evaluation: the statistical estimate of a
// team in the decision's task type (success probability, expected duration), from one evidence
// snapshot per task type, each team estimated once.
import { type Estimate, estimateTeam } from "./estimate.js";
import type { TaskEvidence } from "./evidence.js";
import type { RewardModels } from "./policy-evaluation.js";
import { type EvidenceIndex, indexEvidence } from "./team-prior.js";

/**
 * Reward models from the statistical estimates over `evidenceOf(taskType)`. Team keys are the
 * store's agent sets (agents sorted, joined by ","). The complexity is not used: the statistical
 * estimate has none (see estimate.ts).
 */
export function statisticalRewardModels(evidenceOf: (taskType: string) => TaskEvidence): RewardModels {
  const indexes = new Map<string, EvidenceIndex>();
  const estimates = new Map<string, Estimate>();
  const estimate = (taskType: string, team: string): Estimate => {
    const key = `${taskType}\u0000${team}`;
    let found = estimates.get(key);
    if (!found) {
      let index = indexes.get(taskType);
      if (!index) indexes.set(taskType, (index = indexEvidence(evidenceOf(taskType))));
      estimates.set(key, (found = estimateTeam(index, team.split(","))));
    }
    return found;
  };
  return {
    success: (d, team) => estimate(d.taskType, team).successProbability,
    duration: (d, team) => estimate(d.taskType, team).expectedDurationSeconds,
  };
}
