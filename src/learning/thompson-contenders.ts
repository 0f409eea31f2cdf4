// Which teams take part in the Thompson draws of a first pick, and each one's exact probability of
// winning a draw (by quadrature, thompson-propensity.ts). Split from recommend.ts, which ranks.
import { betaSd } from "./beta.js";
import type { Estimate } from "./estimate.js";
import { thompsonWinProbabilities } from "./thompson-propensity.js";

/** A candidate team as the ranking scored it. */
export interface ScoredTeam {
  team: string[];
  estimate: Estimate;
  speed: number;
  score: number;
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
  const floor = w * (best.estimate.successProbability - CONTENDER_SIGMAS * betaSd(best.estimate.posterior)) + (1 - w) * best.speed;
  const optimistic = (s: ScoredTeam) =>
    w * (s.estimate.successProbability + CONTENDER_SIGMAS * betaSd(s.estimate.posterior)) + (1 - w) * s.speed;
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
    ranking.contenders.map((s) => ({ alpha: s.estimate.posterior.alpha, beta: s.estimate.posterior.beta, offset: (1 - w) * s.speed })),
    w,
  );
  const out = new Float64Array(ranking.pickable.length);
  ranking.contenders.forEach((s, i) => {
    out[ranking.pickIndex.get(s)!] = p[i]!;
  });
  return out;
}
