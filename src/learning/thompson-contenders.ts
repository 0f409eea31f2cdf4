// Which teams take part in the Thompson draws of a first pick, and each one's exact probability of
// winning a draw (by quadrature, thompson-propensity.ts). Split from recommend.ts, which ranks.
import { type BetaPosterior, betaSd } from "./beta.js";
import { thompsonWinProbabilities } from "./thompson-propensity.js";

/**
 * A candidate team as the ranking scored it: only the figures the ranking orders, draws and logs
 * by. A ranking is kept per snapshot, request shape and complexity for every candidate, so the
 * full estimate (intervals, duration distribution, rationale) is rebuilt for the teams an answer
 * returns instead (recommend.ts): held for every candidate, those were most of the service's heap.
 */
export interface ScoredTeam {
  team: string[];
  /** Position in the candidate list the ranking was built from. */
  index: number;
  successProbability: number;
  expectedDurationSeconds: number;
  confidence: number;
  /** The success posterior, for Thompson sampling. */
  posterior: BetaPosterior;
  speed: number;
  score: number;
  /** teamKey(team), computed when an answer first needs it (answers name a few teams, a ranking holds hundreds). */
  key: string | undefined;
}

/** Standard deviations beyond which a Thompson draw is treated as impossible. */
const CONTENDER_SIGMAS = 5;
/** At most this many contenders (the most optimistic ones) take part in Thompson draws. */
const MAX_CONTENDERS = 32;

/**
 * The candidates that can win a Thompson draw: those whose score at mean + 5 sd of their success
 * posterior reaches the greedy best's score at mean − 5 sd, and of those at most the 32 with the
 * highest optimistic score. The others would win rarely: the policy leaves them out of its Thompson
 * draws (they keep the uniform floor), so the logged propensities stay exact for the policy as it
 * runs, and the quadrature's cost stays independent of how many teams the history holds.
 */
export function thompsonContenders(greedy: readonly ScoredTeam[], w: number): ScoredTeam[] {
  const best = greedy[0]!;
  const floor = w * (best.successProbability - CONTENDER_SIGMAS * betaSd(best.posterior)) + (1 - w) * best.speed;
  const optimistic = (s: ScoredTeam) => w * (s.successProbability + CONTENDER_SIGMAS * betaSd(s.posterior)) + (1 - w) * s.speed;
  const kept = new Set(
    greedy
      .filter((s) => s !== best && optimistic(s) >= floor)
      .sort((a, b) => optimistic(b) - optimistic(a))
      .slice(0, MAX_CONTENDERS - 1),
  );
  // Greedy order is kept: ties in a draw go to the better-ranked team.
  return greedy.filter((s) => s === best || kept.has(s));
}

/**
 * P(wins a Thompson draw) for each pickable team: exact over the contenders (in greedy order, so a
 * tie goes to the better-ranked team), 0 for the rest, which the policy's draws leave out.
 */
export function thompsonOver(
  ranking: { contenders: readonly ScoredTeam[]; pickable: readonly ScoredTeam[]; pickIndex: ReadonlyMap<ScoredTeam, number> },
  w: number,
): Float64Array {
  const p = thompsonWinProbabilities(
    ranking.contenders.map((s) => ({ alpha: s.posterior.alpha, beta: s.posterior.beta, offset: (1 - w) * s.speed })),
    w,
  );
  const out = new Float64Array(ranking.pickable.length);
  ranking.contenders.forEach((s, i) => {
    out[ranking.pickIndex.get(s)!] = p[i]!;
  });
  return out;
}
