// The greedy ranking of one request shape over one evidence snapshot: built once per snapshot,
// shape, complexity and model (the costly part of a prediction), kept in the caller's memo, and
// read by every answer of that shape (recommend.ts draws each answer's first team from it).
import { candidateTeams } from "./candidates.js";
import { type DeadlineRequest, type DeadlineSummary, deadlineKey, filterByDeadline, type LogDurationDistribution } from "./deadline.js";
import { DEFAULT_LEVEL, type Estimate, estimateTeam } from "./estimate.js";
import type { TaskEvidence } from "./evidence.js";
import { firstPickProbabilities } from "./first-pick.js";
import { SnapshotMemo } from "./snapshot-memo.js";
import { typicalDuration } from "./team-duration.js";
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

/** x clamped to [0, 1] (weights and shares as the ranking reads them). */
export const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

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

/** The full estimate of a ranked team, rebuilt on first use and kept with the ranking (see ScoredTeam). */
export function estimateOf(ranking: Ranking, s: ScoredTeam): Estimate {
  let estimate = ranking.returned.get(s);
  if (!estimate) {
    estimate = ranking.estimate(s.index, s.team);
    ranking.returned.set(s, estimate);
  }
  return estimate;
}

/** The team's identity (teamKey), kept with it once asked for: each answer names its teams by it. */
export function keyOf(s: ScoredTeam): string {
  s.key ??= teamKey(s.team);
  return s.key;
}

/** π of a ranking at exploration share ε: kept with the ranking for the last ε asked (requests of a shape share one). */
export function piOf(ranking: Ranking, epsilon: number, w: number): Float64Array {
  if (ranking.pi?.epsilon === epsilon) return ranking.pi.values;
  let values: Float64Array;
  if (epsilon > 0) {
    ranking.thompson ??= thompsonOver(ranking, w);
    values = firstPickProbabilities(ranking.thompson, epsilon);
  } else {
    // Nothing explores: the greedy best surely.
    values = new Float64Array(ranking.pickable.length);
    if (values.length > 0) values[0] = 1;
  }
  ranking.pi = { epsilon, values };
  return values;
}

/** The greedy ranking of one request shape over one evidence snapshot, and its Thompson statistics. */
export interface Ranking {
  greedy: ScoredTeam[];
  /** The greedy teams that may go first (confidence at least the request's minimum), in greedy order. */
  pickable: ScoredTeam[];
  /** Index of each pickable team in `pickable`. */
  pickIndex: Map<ScoredTeam, number>;
  /** The pickable teams that take part in Thompson draws. */
  contenders: ScoredTeam[];
  /** P(wins a Thompson draw) per pickable team; computed exactly once per ranking, on first use. */
  thompson?: Float64Array;
  /** π over the pickable teams at the exploration share last asked for. */
  pi?: { epsilon: number; values: Float64Array };
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
  /**
   * The statistical estimates of a candidate list's teams, in its order: the same for every
   * complexity, deadline and model that ranks the list, so computed once (they were two thirds of
   * the cost of building a ranking, built per complexity).
   */
  readonly statistical = new SnapshotMemo<string[][], Estimate[]>(1);
}

/** What a ranking depends on in a request, besides the snapshot (and an override's key). */
function shapeOf(request: RecommendRequest, w: number): string {
  return JSON.stringify([w, [...request.requiredAgents].sort(), [...request.excludedAgents].sort(), request.maxAgents]);
}

export function rankingFor(
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
    const statistical = memo.statistical.get(candidates, "", () => candidates.map((team) => estimateTeam(index, team, DEFAULT_LEVEL)));
    const estimate = (i: number, team: string[]) => (override ? override.estimate(i, team, statistical[i]!) : statistical[i]!);
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
        key: undefined,
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
