import { type DeadlineSummary, probabilityWithin } from "./deadline.js";
import type { Estimate } from "./estimate.js";
import type { TaskEvidence } from "./evidence.js";
import { suggestedOrder } from "./execution-order.js";
import { drawFirst, propensityFloor } from "./first-pick.js";
import {
  clamp01,
  type EstimateOverride,
  estimateOf,
  keyOf,
  piOf,
  type Ranking,
  RecommendMemo,
  type RecommendRequest,
  rankingFor,
} from "./ranking.js";
import { indexEvidence } from "./team-prior.js";
import { type ScoredTeam, thompsonOver } from "./thompson-contenders.js";

/** One ranked team: its estimate, its agents in suggested execution order, and what the policy logged. */
export interface Recommended extends Estimate {
  agents: string[];
  /** The team's identity (teamKey of its agents). */
  agentSet: string;
  score: number;
  /** Probability that this policy puts this team first for this request. */
  propensity: number;
  /** True when the first slot went to a Thompson draw's winner other than the greedy best. */
  exploratory: boolean;
  /** With a deadline: the probability that this team finishes within it. */
  deadlineProbability?: number;
}

/** A team that may go first, with its probability of going first in this answer and what was estimated for it. */
export interface FirstPickTeam {
  agents: string[];
  /** The team's identity (teamKey of its agents). */
  agentSet: string;
  probability: number;
  successProbability: number;
  expectedDurationSeconds: number;
}

/** How the first slot of an answer was chosen: what a decision log needs to evaluate other policies. */
export interface FirstPick {
  /** Exploration share ε. */
  exploration: number;
  /** Teams that could have gone first. */
  candidateCount: number;
  /** The least probability of any of them going first (ε · 0.1 / candidateCount). */
  floor: number;
  /** The greedy best. */
  greedy: string[];
  /** The teams more likely than the floor to go first, most likely first (the others: exactly the floor). */
  top: FirstPickTeam[];
}

/** The ranked answer, and whether it came from the catalog because the task type has no history. */
export interface RecommendResult {
  recommendations: Recommended[];
  coldStart: boolean;
  /** How the first team was chosen; absent when no team may go first. */
  firstPick?: FirstPick;
  /** With a deadline: how many candidate teams it excluded, and why (see deadline.ts). */
  deadline?: DeadlineSummary;
}

/**
 * Builds (once per snapshot and shape, in the memo) the ranking `recommend` would use for this
 * request, with its Thompson win probabilities when it explores, without drawing: so a service
 * can build the ranking of a new snapshot off the request path and swap it in when it is ready.
 */
export function prepareRanking(
  evidence: TaskEvidence,
  request: RecommendRequest,
  override: EstimateOverride | undefined,
  memo: RecommendMemo,
): void {
  const w = clamp01(request.successWeight);
  const ranking = rankingFor(evidence, request, w, override, memo);
  if (clamp01(request.explorationRate) > 0) ranking.thompson ??= thompsonOver(ranking, w);
}

/** Ranks teams for a task type, explores at rate ε, and logs each answer's exact propensity. */
export function recommend(
  evidence: TaskEvidence,
  request: RecommendRequest,
  random: () => number,
  override?: EstimateOverride,
  memo: RecommendMemo = new RecommendMemo(),
): RecommendResult {
  const coldStart = evidence.task.executions === 0;
  const index = indexEvidence(evidence);
  const w = clamp01(request.successWeight);
  const epsilon = clamp01(request.explorationRate);
  const ranking = rankingFor(evidence, request, w, override, memo);
  const { greedy, pickable, deadline } = ranking;
  const best = pickable[0];
  const rest = { coldStart, ...(deadline ? { deadline } : {}) };
  if (greedy.length === 0) return { recommendations: [], ...rest };

  // π for this call: exact Thompson win probabilities (computed once per ranking) mixed with the
  // greedy choice and the uniform floor; the first team is drawn from it.
  const pi = piOf(ranking, epsilon, w);
  const first = best ? pickable[drawFirst(pi, random)]! : undefined;
  const propensity = (s: ScoredTeam) => {
    const i = ranking.pickIndex.get(s);
    return i === undefined ? 0 : clamp01(pi[i]!);
  };
  const ranked = firstThenGreedy(greedy, first, Math.max(0, request.maxRecommendations));
  return {
    ...rest,
    ...(best ? { firstPick: firstPickOf(ranking, pi, epsilon) } : {}),
    recommendations: ranked.map((s, slot) => {
      const estimate = estimateOf(ranking, s);
      return {
        ...estimate,
        agents: suggestedOrder(s.team, index.combinations.get(keyOf(s)), index.catalog),
        agentSet: keyOf(s),
        score: s.score,
        propensity: propensity(s),
        exploratory: slot === 0 && first !== undefined && s !== best,
        ...(request.deadline && estimate.logDuration
          ? { deadlineProbability: probabilityWithin(estimate.logDuration, request.deadline.seconds) }
          : {}),
      };
    }),
  };
}

/** The first `n` teams of an answer: the drawn first one, then the greedy order without it (no copy of the whole ranking). */
function firstThenGreedy(greedy: readonly ScoredTeam[], first: ScoredTeam | undefined, n: number): ScoredTeam[] {
  const out: ScoredTeam[] = first && n > 0 ? [first] : [];
  for (let i = 0; i < greedy.length && out.length < n; i++) if (greedy[i] !== first) out.push(greedy[i]!);
  return out;
}

/**
 * The decision's summary of π: the teams above the floor, which are among the greedy best and the
 * Thompson contenders (at most 32, so this costs little per call however many teams may go first).
 */
function firstPickOf(ranking: Ranking, pi: Float64Array, epsilon: number): FirstPick {
  const { pickable, pickIndex, contenders } = ranking;
  const floor = propensityFloor(epsilon, pickable.length);
  const top = contenders
    .map((s) => ({
      agents: s.team,
      agentSet: keyOf(s),
      probability: pi[pickIndex.get(s)!]!,
      successProbability: s.successProbability,
      expectedDurationSeconds: s.expectedDurationSeconds,
    }))
    .filter((t, i) => i === 0 || t.probability > floor)
    .sort((a, b) => b.probability - a.probability);
  return { exploration: epsilon, candidateCount: pickable.length, floor, greedy: pickable[0]!.team, top };
}
