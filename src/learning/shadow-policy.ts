// A shadow challenger as a target policy of off-policy evaluation: on each decision it was scored
// on, the challenger's own first-pick probabilities (computed for the same request and evidence as
// the champion's, logged in decisions.shadow) say how likely it was to put the logged team first.
import type { TargetPolicy } from "./policy-evaluation.js";
import { type LoggedDecision, loggingProbability, rewardOf } from "./target-policies.js";

/** The challenger's first-pick distribution on one decision: the teams above its floor, and the floor of every other candidate. */
export interface ShadowChoice {
  /** First-pick probability by team key (agents sorted, joined by ","), for the teams above the floor. */
  probabilities: ReadonlyMap<string, number>;
  /** The probability of each candidate not listed (0 when the challenger did not explore). */
  floor: number;
}

/**
 * The challenger's policy, defined on the decisions it was scored on (`shadowOf` answers undefined
 * for the others). The doubly robust model term sums the reward model over the listed teams,
 * renormalised to their mass: the candidates at the floor are not logged, so their share (at most
 * a tenth of the exploration rate) is valued like the listed teams, a bias of at most that share.
 */
export function shadowPolicy(
  shadowOf: (d: LoggedDecision) => ShadowChoice | undefined,
  name = "challenger",
  description = "the shadow challenger's own first-pick probabilities in each decision it was scored on",
): TargetPolicy {
  return {
    name,
    description,
    terms(d, outcome, model) {
      const shadow = shadowOf(d);
      if (!shadow) return undefined;
      let listedMass = 0;
      let supportedMass = 0;
      let modelSum = 0;
      for (const [team, probability] of shadow.probabilities) {
        listedMass += probability;
        if (loggingProbability(d, team) > 0) supportedMass += probability;
        if (model) modelSum += probability * model(d, team);
      }
      // Unlisted candidates are supported when the logging policy had a floor too.
      const rest = Math.max(0, 1 - listedMass);
      if ((d.floorPropensity ?? 0) > 0) supportedMass += rest;
      return {
        reward: rewardOf(d, outcome),
        propensity: d.propensity,
        targetProbability: shadow.probabilities.get(d.team) ?? shadow.floor,
        supportedMass,
        ...(model && listedMass > 0 ? { modelLogged: model(d, d.team), modelTarget: modelSum / listedMass } : {}),
      };
    },
  };
}

/** Sums over n decisions of the weights w and the successes r ∈ {0, 1}: Σw, Σw·r, Σw², Σw²·r. */
export interface WeightSums {
  n: number;
  weightSum: number;
  weightedSuccesses: number;
  weightSqSum: number;
  weightSqSuccesses: number;
}

/**
 * Self-normalised IPS of a success rate from sums alone, with off-policy.ts's delta-method normal
 * interval at `z` (terms w_i (r_i − V) / mean(w), whose sum of squares the sums give since r² = r);
 * undefined without weight.
 */
export function selfNormalizedFromSums(s: WeightSums, z: number): { value: number; lower: number; upper: number } | undefined {
  if (s.n === 0 || s.weightSum <= 0) return undefined;
  const value = s.weightedSuccesses / s.weightSum;
  const meanWeight = s.weightSum / s.n;
  const squares = s.weightSqSuccesses * (1 - 2 * value) + value * value * s.weightSqSum;
  const variance = s.n > 1 ? Math.max(0, squares) / (meanWeight * meanWeight) / (s.n - 1) : 0;
  const half = z * Math.sqrt(variance / s.n);
  return { value, lower: Math.max(0, value - half), upper: Math.min(1, value + half) };
}
