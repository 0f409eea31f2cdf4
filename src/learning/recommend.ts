// Ranks candidate teams for a PredictAgents request and chooses the first slot, exploring with
// Thompson sampling a share ε of the time, and reports each answer's propensity.
//
// Method:
// - Score = w · success probability + (1 − w) · speed, w = successWeight, speed = d_ref / (d_ref + E)
//   with E the team's expected duration and d_ref the task type's median duration exp(m_T) − 1: in
//   (0, 1), 0.5 for a team of typical duration (0.5 for all when no duration is known).
// - Greedy order: by score, best first; ties keep candidate order (history first; on cold start
//   best catalog match first). A model estimate enters the score with its ranking probability (a
//   lower posterior quantile) instead of its mean, so the argmax does not favour the teams whose
//   estimate erred highest; the reported probability stays the mean.
// - First slot: with probability ε (explorationRate) Thompson sampling: one success probability is
//   drawn from each candidate's Beta posterior, candidates are scored with the drawn value and the
//   best wins; otherwise the greedy best. The slot is marked exploratory when the Thompson winner
//   is not the greedy best. The other slots follow greedy order.
// - Propensity: the probability that this policy puts a team first for this request,
//   (1 − ε) · [it is the greedy best] + ε · P_TS(it wins a Thompson draw), P_TS estimated from
//   M = 200 Monte-Carlo draws with the injected random source (so it is an estimate with a standard
//   error of at most 0.5 / √200 ≈ 0.035). Over all candidates the propensities sum to 1.
// - ε = 0 draws nothing: the answer is deterministic.
// - Deadline (optional): teams whose probability of finishing within it is below its level (see
//   deadline.ts) are dropped before the greedy order, so exploration and propensities are over
//   the teams that qualify; none qualifying is an empty answer, not an error.
// The request's complexity is not used by this statistical ranking (no per-complexity evidence is
// kept per team); it is for the trained model.
import { betaSd, sampleBeta } from "./beta.js";
import { candidateTeams } from "./candidates.js";
import { type DeadlineRequest, type DeadlineSummary, deadlineKey, filterByDeadline, probabilityWithin } from "./deadline.js";
import { DEFAULT_LEVEL, type Estimate, estimateTeam } from "./estimate.js";
import type { TaskEvidence } from "./evidence.js";
import { suggestedOrder } from "./execution-order.js";
import { typicalDuration } from "./team-duration.js";
import { SnapshotMemo } from "./snapshot-memo.js";
import { indexEvidence, teamKey } from "./team-prior.js";

/** Thompson draws behind each propensity. */
export const PROPENSITY_DRAWS = 200;

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

/** The ranked answer, and whether it came from the catalog because the task type has no history. */
export interface RecommendResult {
  recommendations: Recommended[];
  coldStart: boolean;
  /** With a deadline: how many candidate teams it excluded, and why (see deadline.ts). */
  deadline?: DeadlineSummary;
}

interface Scored {
  team: string[];
  estimate: Estimate;
  speed: number;
  score: number;
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
export function candidatesFor(evidence: TaskEvidence, request: RecommendRequest): string[][] {
  return candidateLists.get(evidence, shapeOf(request, clamp01(request.successWeight)), () => candidateTeams(evidence, request));
}

/** Ranks teams for a task type, explores with Thompson sampling at rate ε, and logs each answer's propensity. */
export function recommend(evidence: TaskEvidence, request: RecommendRequest, random: () => number, override?: EstimateOverride): RecommendResult {
  const coldStart = evidence.task.executions === 0;
  const index = indexEvidence(evidence);
  const w = clamp01(request.successWeight);
  const epsilon = clamp01(request.explorationRate);
  const ranking = rankingFor(evidence, request, w, override);
  const greedy = ranking.greedy;
  const best = greedy[0];
  const deadline = ranking.deadline;
  if (!best) return { recommendations: [], coldStart, ...(deadline ? { deadline } : {}) };

  if (epsilon > 0) ranking.wins ??= thompsonWins(ranking.contenders, w, random);
  const wins = ranking.wins ?? new Map<Scored, number>();
  const first = epsilon > 0 && random() < epsilon ? thompsonWinner(ranking.contenders, w, random) : best;
  const ranked = [first, ...greedy.filter((s) => s !== first)].slice(0, Math.max(0, request.maxRecommendations));
  return {
    coldStart,
    ...(deadline ? { deadline } : {}),
    recommendations: ranked.map((s, slot) => ({
      ...s.estimate,
      agents: suggestedOrder(s.team, index.combinations.get(teamKey(s.team)), index.catalog),
      score: s.score,
      propensity: clamp01((1 - epsilon) * (s === best ? 1 : 0) + epsilon * ((wins.get(s) ?? 0) / PROPENSITY_DRAWS)),
      exploratory: slot === 0 && s !== best,
      ...(request.deadline && s.estimate.logDuration ? { deadlineProbability: probabilityWithin(s.estimate.logDuration, request.deadline.seconds) } : {}),
    })),
  };
}

/** The greedy ranking of one request shape over one evidence snapshot, and its Thompson statistics. */
interface Ranking {
  greedy: Scored[];
  contenders: Scored[];
  /** Thompson wins per contender; estimated once per ranking, on first use. */
  wins?: Map<Scored, number>;
  /** With a deadline: what its filter excluded. */
  deadline?: DeadlineSummary;
}

// Evidence snapshots are immutable and shared (the service refreshes each about once a second),
// and the ranking and the Monte-Carlo propensities depend only on the snapshot and the request's
// weight and constraints: computed once per snapshot and shape, a prediction costs microseconds.
const MAX_SHAPES_PER_SNAPSHOT = 64;
const rankings = new SnapshotMemo<TaskEvidence, Ranking>(MAX_SHAPES_PER_SNAPSHOT);
const candidateLists = new SnapshotMemo<TaskEvidence, string[][]>(MAX_SHAPES_PER_SNAPSHOT);

/** What a ranking depends on in a request, besides the snapshot (and an override's key). */
function shapeOf(request: RecommendRequest, w: number): string {
  return JSON.stringify([w, [...request.requiredAgents].sort(), [...request.excludedAgents].sort(), request.maxAgents]);
}

function rankingFor(evidence: TaskEvidence, request: RecommendRequest, w: number, override?: EstimateOverride): Ranking {
  // The deadline shapes the ranking but not the candidate list (keyed by shapeOf alone), so the
  // model scores of a candidate list serve every deadline.
  const shape = `${shapeOf(request, w)}|${deadlineKey(request.deadline)}`;
  const key = override ? `${shape}|${override.key}` : shape;
  return rankings.get(evidence, key, () => {
    const index = indexEvidence(evidence);
    const reference = typicalDuration(evidence.task);
    // The candidate list is the same with or without an override, so the override's estimates
    // (computed for `candidatesFor`) line up with it.
    const candidates = candidatesFor(evidence, request);
    const scored: Scored[] = candidates.map((team, i) => {
      const statistical = estimateTeam(index, team, DEFAULT_LEVEL);
      const estimate = override ? override.estimate(i, team, statistical) : statistical;
      const speed = speedOf(estimate.expectedDurationSeconds, reference);
      return { team, estimate, speed, score: w * (estimate.rankingProbability ?? estimate.successProbability) + (1 - w) * speed };
    });
    // Teams that would likely miss the deadline are out before the greedy order and the Thompson
    // draws, so the propensities are over the teams that qualify.
    const filter = request.deadline ? filterByDeadline(scored, (s) => s.estimate.logDuration, request.deadline) : undefined;
    const eligible = filter ? filter.kept : scored;
    // Stable sort: equal scores keep candidate order.
    const greedy = [...eligible].sort((a, b) => b.score - a.score);
    const deadline = filter ? { considered: scored.length, excluded: filter.excluded, unknown: filter.unknown, bestExcludedProbability: filter.bestExcludedProbability } : undefined;
    return { greedy, contenders: greedy.length > 0 ? thompsonContenders(greedy, w) : [], ...(deadline ? { deadline } : {}) };
  });
}

/** Speed relative to the task type's typical duration: d_ref / (d_ref + E). */
function speedOf(expected: number, reference: number): number {
  return reference + expected > 0 ? reference / (reference + expected) : 0.5;
}

/** Standard deviations beyond which a Thompson draw is treated as impossible. */
const CONTENDER_SIGMAS = 5;
/** At most this many contenders (the most optimistic ones) take part in Thompson draws. */
const MAX_CONTENDERS = 32;

/**
 * The candidates that can win a Thompson draw: those whose score at mean + 5 sd of their success
 * posterior reaches the greedy best's score at mean − 5 sd, and of those at most the 32 with the
 * highest optimistic score. The others would win rarely (their logged propensity is 0, an
 * approximation stated with the propensity); bounding them keeps a prediction's cost independent
 * of how many teams the history holds.
 */
function thompsonContenders(greedy: readonly Scored[], w: number): Scored[] {
  const best = greedy[0]!;
  const floor = w * (best.estimate.successProbability - CONTENDER_SIGMAS * betaSd(best.estimate.posterior)) + (1 - w) * best.speed;
  const optimistic = (s: Scored) => w * (s.estimate.successProbability + CONTENDER_SIGMAS * betaSd(s.estimate.posterior)) + (1 - w) * s.speed;
  const kept = new Set(
    greedy
      .filter((s) => s !== best && optimistic(s) >= floor)
      .sort((a, b) => optimistic(b) - optimistic(a))
      .slice(0, MAX_CONTENDERS - 1),
  );
  // Greedy order is kept: ties in a draw go to the better-ranked team.
  return greedy.filter((s) => s === best || kept.has(s));
}

// One Thompson draw: each candidate scored with a success probability drawn from its posterior.
// Candidates are visited in greedy order and only a strictly higher score wins, so with w = 0 (no
// draw matters) the greedy best wins, as it should.
function thompsonWinner(greedy: readonly Scored[], w: number, random: () => number): Scored {
  let winner = greedy[0]!;
  let top = Number.NEGATIVE_INFINITY;
  for (const s of greedy) {
    const drawn = w * sampleBeta(s.estimate.posterior, random) + (1 - w) * s.speed;
    if (drawn > top) {
      top = drawn;
      winner = s;
    }
  }
  return winner;
}

// How often each candidate wins out of PROPENSITY_DRAWS Thompson draws.
function thompsonWins(greedy: readonly Scored[], w: number, random: () => number): Map<Scored, number> {
  const wins = new Map<Scored, number>();
  for (let i = 0; i < PROPENSITY_DRAWS; i++) {
    const winner = thompsonWinner(greedy, w, random);
    wins.set(winner, (wins.get(winner) ?? 0) + 1);
  }
  return wins;
}
