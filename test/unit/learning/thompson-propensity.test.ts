import { describe, expect, it } from "vitest";
import { logGamma, sampleBeta } from "../../../src/learning/beta.js";
import { type ThompsonContender, thompsonWinProbabilities } from "../../../src/learning/thompson-propensity.js";
import { createRng } from "../../../src/sim/random.js";

const lnB = (a: number, b: number) => logGamma(a) + logGamma(b) - logGamma(a + b);

/**
 * P(p₂ > p₁) for p₁ ~ Beta(a1, b1), p₂ ~ Beta(a2, b2) with a2 an integer, in closed form:
 * Σ_{i<a2} B(a1 + i, b1 + b2) / ((b2 + i) · B(1 + i, b2) · B(a1, b1)).
 */
function secondWins(a1: number, b1: number, a2: number, b2: number): number {
  let sum = 0;
  for (let i = 0; i < a2; i++) sum += Math.exp(lnB(a1 + i, b1 + b2) - Math.log(b2 + i) - lnB(1 + i, b2) - lnB(a1, b1));
  return sum;
}

/**
 * An independent reference: ∫ f_i(x) Π_{j≠i} F_j(x) dx by the midpoint rule on 200,000 points of
 * [0, 1] in p-space, with F_j accumulated from the densities (for α, β ≥ 1, densities bounded).
 */
function bruteForce(contenders: readonly ThompsonContender[], weight: number): number[] {
  const points = 200_000;
  const h = 1 / points;
  // Score grid: from the lowest offset to the highest offset + weight, fine enough for all.
  const lo = Math.min(...contenders.map((c) => c.offset));
  const hi = Math.max(...contenders.map((c) => c.offset + weight));
  const dx = (hi - lo) * h;
  const density = (c: ThompsonContender, x: number) => {
    const p = (x - c.offset) / weight;
    if (p <= 0 || p >= 1) return 0;
    return Math.exp((c.alpha - 1) * Math.log(p) + (c.beta - 1) * Math.log(1 - p) - lnB(c.alpha, c.beta)) / weight;
  };
  const cdf = contenders.map(() => 0);
  const wins = contenders.map(() => 0);
  for (let k = 0; k < points; k++) {
    const x = lo + (k + 0.5) * dx;
    const f = contenders.map((c) => density(c, x));
    // F at the midpoint: accumulated to the left edge plus half this cell.
    const mid = cdf.map((F, j) => F + (f[j]! * dx) / 2);
    for (let i = 0; i < contenders.length; i++) {
      let others = 1;
      for (let j = 0; j < contenders.length; j++) if (j !== i) others *= mid[j]!;
      wins[i]! += f[i]! * others * dx;
    }
    for (let j = 0; j < contenders.length; j++) cdf[j]! += f[j]! * dx;
  }
  return wins;
}

/** Wins of each contender in `draws` Thompson draws (ties to the earlier one, as the policy does). */
function monteCarlo(contenders: readonly ThompsonContender[], weight: number, draws: number, seed: number): number[] {
  const rng = createRng(seed);
  const wins = contenders.map(() => 0);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let top = Number.NEGATIVE_INFINITY;
    contenders.forEach((c, i) => {
      const score = c.offset + weight * sampleBeta(c, rng.next);
      if (score > top) {
        top = score;
        best = i;
      }
    });
    wins[best]! += 1;
  }
  return wins;
}

const eight: ThompsonContender[] = [
  { alpha: 19, beta: 3, offset: 0 },
  { alpha: 45, beta: 9, offset: 0 },
  { alpha: 3, beta: 1.2, offset: 0 },
  { alpha: 160, beta: 40, offset: 0 },
  { alpha: 0.7, beta: 0.4, offset: 0 },
  { alpha: 8, beta: 2, offset: 0 },
  { alpha: 1800, beta: 420, offset: 0 },
  { alpha: 2.5, beta: 2.5, offset: 0 },
];

describe("thompsonWinProbabilities", () => {
  it("matches the closed form for two posteriors to 2e-5, from a handful of runs to thousands", () => {
    // Measured: about 1e-6, and 9e-6 where a density is infinite at 0 or 1 (α or β below 1).
    for (const [a1, b1, a2, b2] of [
      [3, 2, 2, 2],
      [20, 5, 18, 6],
      [0.6, 0.5, 1, 1],
      [900, 100, 890, 110],
      [4000, 1000, 30, 9],
    ] as const) {
      const [p1] = thompsonWinProbabilities(
        [
          { alpha: a1, beta: b1, offset: 0 },
          { alpha: a2, beta: b2, offset: 0 },
        ],
        1,
      );
      expect(Math.abs(1 - p1! - secondWins(a1, b1, a2, b2)), `${a1},${b1} vs ${a2},${b2}`).toBeLessThan(2e-5);
    }
  });

  it("matches an independent fine-grid integral to 1e-4 for contenders with weight and speed offsets", () => {
    const mixed: ThompsonContender[] = [
      { alpha: 12, beta: 4, offset: 0.1 },
      { alpha: 30, beta: 15, offset: 0.18 },
      { alpha: 2, beta: 1.5, offset: 0.12 },
      { alpha: 5, beta: 5, offset: 0.2 },
    ];
    const exact = thompsonWinProbabilities(mixed, 0.6);
    const reference = bruteForce(mixed, 0.6);
    for (let i = 0; i < mixed.length; i++) expect(Math.abs(exact[i]! - reference[i]!), `contender ${i}`).toBeLessThan(1e-4);
  });

  it("agrees with 200,000 Thompson draws within 4 standard errors of each share, for 8 contenders", () => {
    const exact = thompsonWinProbabilities(eight, 1);
    const draws = 200_000;
    const wins = monteCarlo(eight, 1, draws, 11);
    expect(exact.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
    for (let i = 0; i < eight.length; i++) {
      // A share of n independent draws has standard error √(p(1 − p)/n), p the true probability.
      const se = Math.sqrt((exact[i]! * (1 - exact[i]!)) / draws);
      expect(Math.abs(wins[i]! / draws - exact[i]!), `contender ${i}: ${exact[i]}`).toBeLessThanOrEqual(4 * Math.max(se, 1 / draws));
    }
  });

  it("splits evenly between identical posteriors", () => {
    const same = { alpha: 7, beta: 3, offset: 0 };
    for (const p of thompsonWinProbabilities([same, same, same, same], 0.8)) expect(p).toBeCloseTo(0.25, 6);
  });

  it("gives a contender that cannot reach the others' scores nothing", () => {
    const [strong, hopeless] = thompsonWinProbabilities(
      [
        { alpha: 90, beta: 10, offset: 0 },
        { alpha: 10, beta: 90, offset: 0 },
      ],
      1,
    );
    expect(strong).toBeCloseTo(1, 12);
    expect(hopeless).toBeLessThan(1e-12);
  });

  it("gives the first contender everything when no draw changes a score (weight 0) or it is alone", () => {
    expect(thompsonWinProbabilities(eight, 0)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(thompsonWinProbabilities([eight[2]!], 1)).toEqual([1]);
    expect(thompsonWinProbabilities([], 1)).toEqual([]);
  });
});
