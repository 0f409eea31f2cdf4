// The first-pick policy: which team a PredictAgents answer puts first, and the exact probability
// (propensity) with which it does so, for this call.
//
// Over the n candidates the policy could put first (in greedy order, the greedy best first):
//     π_i = (1 − ε) · [i is the greedy best] + ε · (UNIFORM_SHARE / n + (1 − UNIFORM_SHARE) · P_TS(i))
// ε the exploration share and P_TS(i) the exact probability that i wins a Thompson draw (see
// thompson-propensity.ts; 0 for the candidates outside the Thompson contenders). So with ε > 0
// every candidate has at least the floor ε · UNIFORM_SHARE / n: no team the policy could pick is
// unsupported, and off-policy estimates of any other policy over these candidates stay finite.
// The team put first is drawn from π with one uniform number for each call, and π of the team
// drawn is what is logged. With ε = 0, π is 1 for the greedy best, 0 elsewhere, and nothing is drawn.

/** Share of an exploring answer that picks uniformly among the candidates (the floor's source). */
export const UNIFORM_SHARE = 0.1;

/** The least first-pick probability of any of `candidates` candidates at exploration share ε. */
export function propensityFloor(epsilon: number, candidates: number): number {
  return candidates > 0 ? (epsilon * UNIFORM_SHARE) / candidates : 0;
}

/**
 * π over `thompson.length` candidates in greedy order (index 0 the greedy best), given each one's
 * Thompson win probability. Sums to 1 up to rounding.
 */
export function firstPickProbabilities(thompson: ArrayLike<number>, epsilon: number): Float64Array {
  const n = thompson.length;
  const floor = propensityFloor(epsilon, n);
  const pi = new Float64Array(n);
  for (let i = 0; i < n; i++) pi[i] = (i === 0 ? 1 - epsilon : 0) + floor + epsilon * (1 - UNIFORM_SHARE) * thompson[i]!;
  return pi;
}

/**
 * Draws the index of the team put first from π with one uniform number; draws nothing when the
 * greedy best is certain (ε = 0), so such answers stay deterministic.
 */
export function drawFirst(pi: ArrayLike<number>, random: () => number): number {
  if (pi.length <= 1 || pi[0]! >= 1) return 0;
  const u = random();
  let cumulative = 0;
  for (let i = 0; i < pi.length; i++) {
    cumulative += pi[i]!;
    if (u < cumulative) return i;
  }
  // Rounding left u above the sum: the last team with any probability.
  for (let i = pi.length - 1; i > 0; i--) if (pi[i]! > 0) return i;
  return 0;
}
