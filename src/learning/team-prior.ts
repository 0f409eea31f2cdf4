// The prior of a team's success probability in one task type, before its own record is counted.
// It is built only from evidence OUTSIDE the team's own executions (the team's record is
// subtracted from its agents' and pairs' sums), so that record enters the posterior exactly once,
// as the likelihood, and is not counted again through the prior.
//
// Levels (p_T is the task type's posterior mean under Beta(1 + s_T, 1 + f_T)):
// - agent a:  r_a = (s_a + κ_a p_T) / (n_a + κ_a), κ_a = 10; an agent never seen here gets p_T.
// - team:     m = sigmoid(mean over its agents of logit r_a): agents combine additively on the
//             log-odds scale, so one weak agent pulls a team down without zeroing it.
// - pairs:    for each pair {a, b} inside the team with executions in other teams (sums over every
//             recorded team holding both), its expected rate e = sigmoid((logit r_a + logit r_b) / 2)
//             and its shrunk rate q = (s_ab + κ_a e) / (n_ab + κ_a); the pair's shortfall is
//             logit q − logit e. The worst negative shortfall is added to logit m. This is how an
//             untested team containing a known-bad pair is not recommended: the pair's excess
//             failures (beyond what its two agents explain) carry over to every team holding it. A
//             pair is judged against its own agents, not against the task, so a pair of weak agents
//             that performs as weak agents do costs nothing extra; only the worst pair counts, since
//             pairs of one team share executions and adding them would count the same failures twice.
// - strength: κ = min(κ_c, 2 + n_T), κ_c = 8 pseudo-executions; capped by the task's own evidence
//             (α + β of its posterior) because the prior cannot be surer than what it comes from: on
//             cold start it is Beta(1, 1).
import { NO_EXECUTIONS } from "../domain/evidence.js";
import { asTeam, teamKey } from "../domain/team.js";
import { addSums, type CatalogAgent, type CombinationEvidence, type OutcomeSums, type TaskEvidence } from "./evidence.js";

// The team's identity is domain/team.ts's; re-exported for the callers that reach it from here.
export { asTeam, teamKey } from "../domain/team.js";

/** Pseudo-executions pulling an agent's (or a pair's) rate toward what the level above predicts. */
export const AGENT_PRIOR_STRENGTH = 10;

/** Pseudo-executions of the team prior once the task type has enough history to back them. */
export const TEAM_PRIOR_STRENGTH = 8;

/** `whole` without `part`; nothing when no execution is left (guards rounding of float sums). */
function without(whole: OutcomeSums | undefined, part: OutcomeSums | undefined): OutcomeSums {
  if (!whole) return NO_EXECUTIONS;
  if (!part) return whole;
  const executions = whole.executions - part.executions;
  if (executions <= 0) return NO_EXECUTIONS;
  return {
    executions,
    successes: Math.max(0, whole.successes - part.successes),
    durationSum: Math.max(0, whole.durationSum - part.durationSum),
    logDurationSum: Math.max(0, whole.logDurationSum - part.logDurationSum),
    logDurationSqSum: Math.max(0, whole.logDurationSqSum - part.logDurationSqSum),
    complexitySum: Math.max(0, whole.complexitySum - part.complexitySum),
  };
}

const EPSILON = 1e-9;

/** log(p / (1 − p)), clamped away from ±∞. */
function logit(p: number): number {
  const q = Math.min(1 - EPSILON, Math.max(EPSILON, p));
  return Math.log(q / (1 - q));
}

/** The inverse of logit. */
function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Posterior mean of the task type's success rate under Beta(1 + s, 1 + f). */
export function taskRate(task: OutcomeSums): number {
  return (1 + task.successes) / (2 + task.executions);
}

/** A record's success rate shrunk toward `target` with κ_a pseudo-executions. */
export function shrunkRate(sums: OutcomeSums, target: number): number {
  return (sums.successes + AGENT_PRIOR_STRENGTH * target) / (sums.executions + AGENT_PRIOR_STRENGTH);
}

/** The evidence of one task type, keyed for the lookups every team estimate makes. */
export interface EvidenceIndex {
  evidence: TaskEvidence;
  /** p_T. */
  taskRate: number;
  combinations: Map<string, CombinationEvidence>;
  agents: Map<string, OutcomeSums>;
  /** Sums over every recorded team holding both agents, keyed by teamKey of the pair. */
  pairs: Map<string, OutcomeSums>;
  catalog: Map<string, CatalogAgent>;
}

// Evidence objects are shared, immutable snapshots (the service caches one per task type), so
// their index is built once per snapshot rather than once per prediction.
const indexes = new WeakMap<TaskEvidence, EvidenceIndex>();

/** Indexes a task type's evidence once, so ranking hundreds of candidates stays cheap. */
export function indexEvidence(evidence: TaskEvidence): EvidenceIndex {
  let index = indexes.get(evidence);
  if (!index) {
    index = buildIndex(evidence);
    indexes.set(evidence, index);
  }
  return index;
}

function buildIndex(evidence: TaskEvidence): EvidenceIndex {
  const combinations = new Map<string, CombinationEvidence>();
  const pairs = new Map<string, OutcomeSums>();
  for (const combination of evidence.combinations) {
    const team = asTeam(combination.agents);
    combinations.set(teamKey(team), combination);
    for (let i = 0; i < team.length; i++) {
      for (let j = i + 1; j < team.length; j++) {
        const key = teamKey([team[i]!, team[j]!]);
        pairs.set(key, addSums(pairs.get(key) ?? NO_EXECUTIONS, combination));
      }
    }
  }
  return {
    evidence,
    taskRate: taskRate(evidence.task),
    combinations,
    agents: new Map(evidence.agents.map((a) => [a.agent, a])),
    pairs,
    catalog: new Map(evidence.catalog.map((a) => [a.name, a])),
  };
}

/** One agent of a team, as its prior sees it. */
export interface AgentPrior {
  agent: string;
  /** The agent's executions in other teams. */
  outside: OutcomeSums;
  /** r_a. */
  rate: number;
}

/** The pair that lowers a team's prior. */
export interface FailingPair {
  agents: [string, string];
  /** The pair's executions in other teams. */
  outside: OutcomeSums;
  /** logit q − logit e (negative). */
  shortfall: number;
}

/** A team's prior: Beta(strength · mean, strength · (1 − mean)), and what it came from. */
export interface TeamPrior {
  team: string[];
  /** The team's own record (zero sums when never tried). */
  own: OutcomeSums;
  agents: AgentPrior[];
  worstPair: FailingPair | undefined;
  mean: number;
  strength: number;
}

/** The prior of a team's success probability from its agents, its pairs and the task type. */
export function teamPrior(index: EvidenceIndex, agents: readonly string[]): TeamPrior {
  const team = asTeam(agents);
  const combination = index.combinations.get(teamKey(team));
  const own: OutcomeSums = combination ?? NO_EXECUTIONS;
  const members = team.map((agent): AgentPrior => {
    const outside = without(index.agents.get(agent), combination);
    return { agent, outside, rate: shrunkRate(outside, index.taskRate) };
  });
  const meanLogit = members.length > 0 ? members.reduce((sum, m) => sum + logit(m.rate), 0) / members.length : logit(index.taskRate);

  let worstPair: FailingPair | undefined;
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      const a = members[i]!;
      const b = members[j]!;
      const outside = without(index.pairs.get(teamKey([a.agent, b.agent])), combination);
      if (outside.executions === 0) continue;
      const expected = sigmoid((logit(a.rate) + logit(b.rate)) / 2);
      const shortfall = logit(shrunkRate(outside, expected)) - logit(expected);
      if (shortfall < 0 && (!worstPair || shortfall < worstPair.shortfall)) worstPair = { agents: [a.agent, b.agent], outside, shortfall };
    }
  }
  return {
    team,
    own,
    agents: members,
    worstPair,
    mean: sigmoid(meanLogit + (worstPair?.shortfall ?? 0)),
    strength: Math.min(TEAM_PRIOR_STRENGTH, 2 + index.evidence.task.executions),
  };
}
