import { candidateTeams } from "./candidates.js";
import {
  type DeadlineRequest,
  type DeadlineSummary,
  deadlineKey,
  filterByDeadline,
  type LogDurationDistribution,
  probabilityWithin,
} from "./deadline.js";
import { DEFAULT_LEVEL, type Estimate, estimateTeam } from "./estimate.js";
import { drawFirst, firstPickProbabilities, propensityFloor } from "./first-pick.js";
import type { TaskEvidence } from "./evidence.js";
import { suggestedOrder } from "./execution-order.js";
import { typicalDuration } from "./team-duration.js";
import { SnapshotMemo } from "./snapshot-memo.js";
import { indexEvidence, teamKey } from "./team-prior.js";
import { type ScoredTeam, thompsonContenders, thompsonOver } from "./thompson-contenders.js";

/** A PredictAgents request as learning needs it (validated, defaults applied). */
export interface RecommendRequest {
  /** Task complexity; unused by the statistical ranking. */
  complexity: number;
  maxRecommendations: number;
  requiredAgents: string[];
  excludedAgents: string[];
  /** Largest team size; 0 = no limit. */
  maxAgents: number;
  /** Weight of success against speed, in [0, 1]. */
  successWeight: number;
  /** Share ε of answers whose first slot explores, in [0, 1]. */
  explorationRate: number;
  /** Rank only teams that finish within it with at least its level of probability. */
  deadline?: DeadlineRequest;
  /** Only teams of at least this confidence may go first (the learning mode's threshold); default 0. */
  minConfidence?: number;
}

/** One ranked team: its estimate, its agents in suggested execution order, and what the policy logged. */
export interface Recommended extends Estimate {
  agents: string[];
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

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/**
 * Replaces the statistical estimates of the candidates by another estimator's (a trained model's),
 * keeping the same ranking, exploration and propensity machinery. `key` names what the estimates
 * depend on beyond the evidence and the request's shape (model version, complexity), for reuse.
 */
export interface EstimateOverride {
  key: string;
  /** The estimate of candidate `i` (in `candidatesFor` order), given its statistical one. */
  estimate(i: number, team: string[], statistical: Estimate): Estimate;
}

/**
 * The candidate teams of a request, in the order `EstimateOverride.estimate` is called with. The
 * same array for the same snapshot and request shape, so estimates computed for it can be reused.
 */
export function candidatesFor(evidence: TaskEvidence, request: RecommendRequest, memo: RecommendMemo = new RecommendMemo()): string[][] {
  return memo.candidateLists.get(evidence, shapeOf(request, clamp01(request.successWeight)), () => candidateTeams(evidence, request));
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
  if (epsilon > 0) ranking.thompson ??= thompsonOver(ranking, w);
  const pi = epsilon > 0 && ranking.thompson ? firstPickProbabilities(ranking.thompson, epsilon) : greedyOnly(pickable.length);
  const first = best ? pickable[drawFirst(pi, random)]! : undefined;
  const propensity = (s: ScoredTeam) => {
    const i = ranking.pickIndex.get(s);
    return i === undefined ? 0 : clamp01(pi[i]!);
  };
  const ranked = (first ? [first, ...greedy.filter((s) => s !== first)] : greedy).slice(0, Math.max(0, request.maxRecommendations));
  return {
    ...rest,
    ...(best ? { firstPick: firstPickOf(ranking, pi, epsilon) } : {}),
    recommendations: ranked.map((s, slot) => {
      const estimate = estimateOf(ranking, s);
      return {
        ...estimate,
        agents: suggestedOrder(s.team, index.combinations.get(teamKey(s.team)), index.catalog),
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

/** The full estimate of a ranked team, rebuilt on first use and kept with the ranking (see ScoredTeam). */
function estimateOf(ranking: Ranking, s: ScoredTeam): Estimate {
  let estimate = ranking.returned.get(s);
  if (!estimate) {
    estimate = ranking.estimate(s.index, s.team);
    ranking.returned.set(s, estimate);
  }
  return estimate;
}

/** π when nothing explores: the greedy best surely. */
function greedyOnly(n: number): Float64Array {
  const pi = new Float64Array(n);
  if (n > 0) pi[0] = 1;
  return pi;
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
      probability: pi[pickIndex.get(s)!]!,
      successProbability: s.successProbability,
      expectedDurationSeconds: s.expectedDurationSeconds,
    }))
    .filter((t, i) => i === 0 || t.probability > floor)
    .sort((a, b) => b.probability - a.probability);
  return { exploration: epsilon, candidateCount: pickable.length, floor, greedy: pickable[0]!.team, top };
}

/** The greedy ranking of one request shape over one evidence snapshot, and its Thompson statistics. */
interface Ranking {
  greedy: ScoredTeam[];
  /** The greedy teams that may go first (confidence at least the request's minimum), in greedy order. */
  pickable: ScoredTeam[];
  /** Index of each pickable team in `pickable`. */
  pickIndex: Map<ScoredTeam, number>;
  /** The pickable teams that take part in Thompson draws. */
  contenders: ScoredTeam[];
  /** P(wins a Thompson draw) per pickable team; computed exactly once per ranking, on first use. */
  thompson?: Float64Array;
  /** With a deadline: what its filter excluded. */
  deadline?: DeadlineSummary;
  /** The full estimate of candidate `i`, as the ranking was scored (the same snapshot and override). */
  estimate(i: number, team: string[]): Estimate;
  /** Full estimates of the teams answers returned, by team: few (the top ones and the contenders). */
  returned: Map<ScoredTeam, Estimate>;
}

// Evidence snapshots are immutable and shared (the service refreshes each about once a second),
// and the ranking and the Thompson win probabilities depend only on the snapshot and the request's
// weight and constraints: computed once per snapshot and shape, a prediction costs microseconds.
// A model's rankings are kept per complexity too (41 values), and a challenger (shadow or canary)
// has its own beside the champion's: 128 leaves room for both; at 64 the two evicted each other's
// rankings and every call recomputed one (PredictAgents p50 1.6 times as high with a shadow).
const MAX_SHAPES_PER_SNAPSHOT = 128;

/**
 * Rankings and candidate lists per evidence snapshot and request shape. The caller owns it (the
 * service keeps one for its life) so this module holds no state; without one nothing is reused.
 */
export class RecommendMemo {
  readonly rankings = new SnapshotMemo<TaskEvidence, Ranking>(MAX_SHAPES_PER_SNAPSHOT);
  readonly candidateLists = new SnapshotMemo<TaskEvidence, string[][]>(MAX_SHAPES_PER_SNAPSHOT);
}

/** What a ranking depends on in a request, besides the snapshot (and an override's key). */
function shapeOf(request: RecommendRequest, w: number): string {
  return JSON.stringify([w, [...request.requiredAgents].sort(), [...request.excludedAgents].sort(), request.maxAgents]);
}

function rankingFor(
  evidence: TaskEvidence,
  request: RecommendRequest,
  w: number,
  override: EstimateOverride | undefined,
  memo: RecommendMemo,
): Ranking {
  // The deadline shapes the ranking but not the candidate list (keyed by shapeOf alone), so the
  // model scores of a candidate list serve every deadline.
  const shape = `${shapeOf(request, w)}|${deadlineKey(request.deadline)}|${request.minConfidence ?? 0}`;
  const key = override ? `${shape}|${override.key}` : shape;
  return memo.rankings.get(evidence, key, () => {
    const index = indexEvidence(evidence);
    const reference = typicalDuration(evidence.task);
    // The candidate list is the same with or without an override, so the override's estimates
    // (computed for `candidatesFor`) line up with it.
    const candidates = candidatesFor(evidence, request, memo);
    const estimate = (i: number, team: string[]) => {
      const statistical = estimateTeam(index, team, DEFAULT_LEVEL);
      return override ? override.estimate(i, team, statistical) : statistical;
    };
    // Only the figures the ranking uses are kept; the duration distributions only while the
    // deadline filter reads them.
    const logDurations: (LogDurationDistribution | undefined)[] = [];
    const scored: ScoredTeam[] = candidates.map((team, i) => {
      const e = estimate(i, team);
      if (request.deadline) logDurations[i] = e.logDuration;
      const speed = speedOf(e.expectedDurationSeconds, reference);
      return {
        team,
        index: i,
        successProbability: e.successProbability,
        expectedDurationSeconds: e.expectedDurationSeconds,
        confidence: e.confidence,
        posterior: e.posterior,
        speed,
        score: w * (e.rankingProbability ?? e.successProbability) + (1 - w) * speed,
      };
    });
    // Teams that would likely miss the deadline are out before the greedy order and the Thompson
    // draws, so the propensities are over the teams that qualify.
    const filter = request.deadline ? filterByDeadline(scored, (s) => logDurations[s.index], request.deadline) : undefined;
    const eligible = filter ? filter.kept : scored;
    // Stable sort: equal scores keep candidate order.
    const greedy = [...eligible].sort((a, b) => b.score - a.score);
    const deadline = filter
      ? {
          considered: scored.length,
          excluded: filter.excluded,
          unknown: filter.unknown,
          bestExcludedProbability: filter.bestExcludedProbability,
        }
      : undefined;
    const minConfidence = request.minConfidence ?? 0;
    const pickable = greedy.filter((s) => s.confidence >= minConfidence);
    const pickIndex = new Map(pickable.map((s, i) => [s, i]));
    return {
      greedy,
      pickable,
      pickIndex,
      contenders: pickable.length > 0 ? thompsonContenders(pickable, w) : [],
      ...(deadline ? { deadline } : {}),
      estimate,
      returned: new Map(),
    };
  });
}

/** Speed relative to the task type's typical duration: d_ref / (d_ref + E). */
function speedOf(expected: number, reference: number): number {
  return reference + expected > 0 ? reference / (reference + expected) : 0.5;
}
