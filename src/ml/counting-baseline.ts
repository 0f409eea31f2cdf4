// What counting alone would have predicted for the holdout rows: the service's statistical
// estimate (learning/estimate.ts: the team's record over a prior from its agents, its worst pair
// and the task type) computed from the rows the judged model learned from. A success model whose
// holdout log loss does not beat it has not earned a say in which team is picked first.
import type { AgentEvidence, CombinationEvidence, OutcomeSums, TaskEvidence } from "../learning/evidence.js";
import { estimateTeam } from "../learning/estimate.js";
import { NO_EXECUTIONS } from "../domain/evidence.js";
import { asTeam } from "../domain/team.js";
import { type EvidenceIndex, indexEvidence, teamPrior } from "../learning/team-prior.js";
import { type TeamKeyOf, type TrainingExample, taskTeamKey } from "./training-set.js";

/** The metric under which a success model stores counting's holdout log loss. */
export const COUNTING_LOG_LOSS_METRIC = "counting_log_loss";

const zero = (): OutcomeSums => ({ ...NO_EXECUTIONS });

function add(sums: OutcomeSums, e: TrainingExample): void {
  const log = Math.log1p(e.durationSeconds);
  sums.executions++;
  sums.successes += e.success ? 1 : 0;
  sums.durationSum += e.durationSeconds;
  sums.logDurationSum += log;
  sums.logDurationSqSum += log * log;
  sums.complexitySum += e.complexity;
}

/** The evidence of every task type in `train`, as the store's aggregates would hold it. */
function evidenceOf(train: readonly TrainingExample[], keyOf: TeamKeyOf): Map<string, TaskEvidence> {
  const byType = new Map<
    string,
    { task: OutcomeSums; combinations: Map<string, CombinationEvidence>; agents: Map<string, AgentEvidence> }
  >();
  for (const e of train) {
    let t = byType.get(e.taskType);
    if (!t) {
      t = { task: zero(), combinations: new Map(), agents: new Map() };
      byType.set(e.taskType, t);
    }
    add(t.task, e);
    const key = keyOf(e);
    let combination = t.combinations.get(key);
    if (!combination) {
      combination = { ...zero(), agents: asTeam(e.agents) };
      t.combinations.set(key, combination);
    }
    add(combination, e);
    for (const agent of combination.agents) {
      let a = t.agents.get(agent);
      if (!a) {
        a = { ...zero(), agent };
        t.agents.set(agent, a);
      }
      add(a, e);
    }
  }
  const out = new Map<string, TaskEvidence>();
  for (const [taskType, t] of byType) {
    out.set(taskType, {
      taskType,
      task: t.task,
      combinations: [...t.combinations.values()],
      agents: [...t.agents.values()],
      catalog: [],
      asOfMs: 0,
    });
  }
  return out;
}

/** What counting says of a team, learned from the training rows. */
export interface CountingModel {
  /** The statistical estimate's success probability (record included). */
  probability(e: TrainingExample): number;
  /** The team's statistical prior, before its own record (team-prior.ts): what serving combines with the model. */
  prior(e: TrainingExample): { mean: number; strength: number };
}

/** Counting's estimates from the evidence of `train`, each team's computed once. */
export function countingModel(train: readonly TrainingExample[], keyOf: TeamKeyOf = taskTeamKey): CountingModel {
  const evidence = evidenceOf(train, keyOf);
  const indexes = new Map<string, EvidenceIndex>();
  const indexOf = (taskType: string): EvidenceIndex => {
    let index = indexes.get(taskType);
    if (!index) {
      index = indexEvidence(evidence.get(taskType) ?? { taskType, task: zero(), combinations: [], agents: [], catalog: [], asOfMs: 0 });
      indexes.set(taskType, index);
    }
    return index;
  };
  const probabilities = new Map<string, number>();
  const priors = new Map<string, { mean: number; strength: number }>();
  return {
    probability(e) {
      const key = keyOf(e);
      let p = probabilities.get(key);
      if (p === undefined) {
        p = estimateTeam(indexOf(e.taskType), e.agents).successProbability;
        probabilities.set(key, p);
      }
      return p;
    },
    prior(e) {
      const key = keyOf(e);
      let prior = priors.get(key);
      if (prior === undefined) {
        const { mean, strength } = teamPrior(indexOf(e.taskType), e.agents);
        prior = { mean, strength };
        priors.set(key, prior);
      }
      return prior;
    },
  };
}
