// What counting alone would have predicted for the holdout rows: the service's statistical
// estimate (learning/estimate.ts: the team's record over a prior from its agents, its worst pair
// and the task type) computed from the rows the judged model learned from. A success model whose
// holdout log loss does not beat it has not earned a say in which team is picked first.
import type { AgentEvidence, CombinationEvidence, OutcomeSums, TaskEvidence } from "../learning/evidence.js";
import { estimateTeam } from "../learning/estimate.js";
import { NO_EXECUTIONS } from "../domain/evidence.js";
import { asTeam } from "../domain/team.js";
import { type EvidenceIndex, indexEvidence, teamPrior } from "../learning/team-prior.js";
import type { TrainingExample } from "./training-set.js";

/** The metric under which a success model stores counting's holdout log loss. */
export const COUNTING_LOG_LOSS_METRIC = "counting_log_loss";

const zero = (): OutcomeSums => ({ ...NO_EXECUTIONS });

/**
 * Running sums as six doubles (the fields of OutcomeSums, in order): added to once per example
 * and agent, millions of times at 10^6 rows, where updating object fields holding doubles boxed
 * every sum and cost seconds of allocation and collection.
 */
const SUMS_WIDTH = 6;

function add(sums: Float64Array, e: TrainingExample, log: number): void {
  sums[0]! += 1;
  sums[1]! += e.success ? 1 : 0;
  sums[2]! += e.durationSeconds;
  sums[3]! += log;
  sums[4]! += log * log;
  sums[5]! += e.complexity;
}

function outcomeSums(sums: Float64Array): OutcomeSums {
  return {
    executions: sums[0]!,
    successes: sums[1]!,
    durationSum: sums[2]!,
    logDurationSum: sums[3]!,
    logDurationSqSum: sums[4]!,
    complexitySum: sums[5]!,
  };
}

/**
 * The evidence of every task type in `train`, as the store's aggregates would hold it; `ids` are
 * train's team ids (training-set.ts's teamIds), `teamCount` the size of their id space.
 */
function evidenceOf(train: readonly TrainingExample[], ids: Int32Array, teamCount: number): Map<string, TaskEvidence> {
  const teamSums = new Float64Array(teamCount * SUMS_WIDTH);
  // Per team, resolved when first seen: the sums each of its rows adds to, and its agents.
  const teamTargets: (Float64Array[] | undefined)[] = new Array(teamCount);
  const teamAgents: (string[] | undefined)[] = new Array(teamCount);
  const byType = new Map<string, { task: Float64Array; teams: number[]; agents: Map<string, Float64Array> }>();
  for (let i = 0; i < train.length; i++) {
    const e = train[i]!;
    const id = ids[i]!;
    let targets = teamTargets[id];
    if (!targets) {
      let t = byType.get(e.taskType);
      if (!t) {
        t = { task: new Float64Array(SUMS_WIDTH), teams: [], agents: new Map() };
        byType.set(e.taskType, t);
      }
      t.teams.push(id);
      const agents = asTeam(e.agents);
      teamAgents[id] = agents;
      targets = [t.task, teamSums.subarray(id * SUMS_WIDTH, (id + 1) * SUMS_WIDTH)];
      for (const agent of agents) {
        let a = t.agents.get(agent);
        if (!a) {
          a = new Float64Array(SUMS_WIDTH);
          t.agents.set(agent, a);
        }
        targets.push(a);
      }
      teamTargets[id] = targets;
    }
    const log = Math.log1p(e.durationSeconds);
    for (const sums of targets) add(sums, e, log);
  }
  const out = new Map<string, TaskEvidence>();
  for (const [taskType, t] of byType) {
    const combinations: CombinationEvidence[] = t.teams.map((id) => ({
      ...outcomeSums(teamSums.subarray(id * SUMS_WIDTH, (id + 1) * SUMS_WIDTH)),
      agents: teamAgents[id]!,
    }));
    const agents: AgentEvidence[] = [];
    for (const [agent, sums] of t.agents) agents.push({ ...outcomeSums(sums), agent });
    out.set(taskType, { taskType, task: outcomeSums(t.task), combinations, agents, catalog: [], asOfMs: 0 });
  }
  return out;
}

/** What counting says of a team, learned from the training rows. */
export interface CountingModel {
  /** The statistical estimate's success probability (record included); `teamId` is e's team id. */
  probability(e: TrainingExample, teamId: number): number;
  /** The team's statistical prior, before its own record (team-prior.ts): what serving combines with the model. */
  prior(e: TrainingExample, teamId: number): { mean: number; strength: number };
}

/**
 * Counting's estimates from the evidence of `train`, each team's computed once. `teams`: train's
 * team ids and the size of their id space, which the ids later asked about share.
 */
export function countingModel(train: readonly TrainingExample[], teams: { ids: Int32Array; count: number }): CountingModel {
  const evidence = evidenceOf(train, teams.ids, teams.count);
  const indexes = new Map<string, EvidenceIndex>();
  const indexOf = (taskType: string): EvidenceIndex => {
    let index = indexes.get(taskType);
    if (!index) {
      index = indexEvidence(evidence.get(taskType) ?? { taskType, task: zero(), combinations: [], agents: [], catalog: [], asOfMs: 0 });
      indexes.set(taskType, index);
    }
    return index;
  };
  const probabilities = new Map<number, number>();
  const priors = new Map<number, { mean: number; strength: number }>();
  return {
    probability(e, teamId) {
      let p = probabilities.get(teamId);
      if (p === undefined) {
        p = estimateTeam(indexOf(e.taskType), e.agents).successProbability;
        probabilities.set(teamId, p);
      }
      return p;
    },
    prior(e, teamId) {
      let prior = priors.get(teamId);
      if (prior === undefined) {
        const { mean, strength } = teamPrior(indexOf(e.taskType), e.agents);
        prior = { mean, strength };
        priors.set(teamId, prior);
      }
      return prior;
    },
  };
}
