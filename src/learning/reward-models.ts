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
  // Nested maps, not a joined string key: the models are called a few times per decision and
  // policy, 10^6 times for a log of 10^5 decisions.
  const estimates = new Map<string, { index: EvidenceIndex; teams: Map<string, Estimate> }>();
  const estimate = (taskType: string, team: string): Estimate => {
    let task = estimates.get(taskType);
    if (!task) {
      task = { index: indexEvidence(evidenceOf(taskType)), teams: new Map() };
      estimates.set(taskType, task);
    }
    let found = task.teams.get(team);
    if (!found) {
      found = estimateTeam(task.index, team.split(","));
      task.teams.set(team, found);
    }
    return found;
  };
  return {
    success: (d, team) => estimate(d.taskType, team).successProbability,
    duration: (d, team) => estimate(d.taskType, team).expectedDurationSeconds,
  };
}
