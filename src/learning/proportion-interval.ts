// Intervals for success rates counted on executions: Wilson's score interval for one rate (good
// coverage near 0 and 1 and for small counts, where the normal approximation is not), and
// Newcombe's hybrid score interval for the difference of two independent rates, built from the
// two Wilson intervals (Newcombe 1998, method 10).
import { normalQuantile } from "./normal.js";

/** A rate with its interval. */
export interface RateInterval {
  rate: number;
  lower: number;
  upper: number;
}

/** Wilson's score interval at `z` standard normal quantiles (1.96: two-sided 95%); 0 successes of 0 is [0, 1]. */
export function wilsonInterval(successes: number, n: number, z: number): RateInterval {
  if (n <= 0) return { rate: 0, lower: 0, upper: 1 };
  const p = successes / n;
  const z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { rate: p, lower: Math.max(0, center - half), upper: Math.min(1, center + half) };
}

/** The two-sided z of a confidence level, e.g. 0.95 → 1.96. */
export function twoSidedZ(level: number): number {
  return normalQuantile(1 - (1 - level) / 2);
}

/**
 * The one-sided lower confidence bound, at `confidence`, of rate A − rate B (Newcombe's hybrid
 * score method: the difference less the root of the squared distances to A's lower and B's upper
 * Wilson bounds, each at the same one-sided z).
 */
export function differenceLowerBound(
  a: { successes: number; n: number },
  b: { successes: number; n: number },
  confidence: number,
): { difference: number; lower: number } {
  const z = normalQuantile(confidence);
  const wa = wilsonInterval(a.successes, a.n, z);
  const wb = wilsonInterval(b.successes, b.n, z);
  const difference = wa.rate - wb.rate;
  return { difference, lower: difference - Math.sqrt((wa.rate - wa.lower) ** 2 + (wb.upper - wb.rate) ** 2) };
}
