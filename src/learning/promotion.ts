// Promotion on evidence: a challenger replaces the champion only when the data says, at a stated
// confidence, that its success rate is at least the champion's less a stated margin: the one-sided
// lower confidence bound of (challenger − champion) must be ≥ −margin, and the evidence must be
// trustworthy at all (enough credited decisions; for a shadow, enough weight and support).
import type { PolicyValue } from "./off-policy.js";
import { normalQuantile } from "./normal.js";
import { differenceLowerBound } from "./proportion-interval.js";

/** Credited executions each canary arm needs before a comparison is judged at all. */
export const MIN_ARM_CREDITED = 30;

/** What a promotion is judged on. */
export interface PromotionEvidence {
  challenger: number;
  champion: number;
  /** challenger − champion. */
  difference: number;
  /** One-sided lower confidence bound of the difference. */
  lowerBound: number;
  /** Credited decisions behind it. */
  count: number;
  /** Why the evidence cannot be judged; absent when it can. */
  untrusted?: string;
}

/** A promotion verdict. */
export interface PromotionVerdict {
  promote: boolean;
  reason: string;
}

/** Counted outcomes of one canary arm. */
export interface ArmOutcomes {
  credited: number;
  successes: number;
}

/** Canary evidence: the arms' credited success rates and Newcombe's bound on their difference. */
export function canaryEvidence(champion: ArmOutcomes, challenger: ArmOutcomes, confidence: number): PromotionEvidence {
  const { difference, lower } = differenceLowerBound(
    { successes: challenger.successes, n: challenger.credited },
    { successes: champion.successes, n: champion.credited },
    confidence,
  );
  const rate = (a: ArmOutcomes) => (a.credited > 0 ? a.successes / a.credited : 0);
  const short = Math.min(champion.credited, challenger.credited) < MIN_ARM_CREDITED;
  return {
    challenger: rate(challenger),
    champion: rate(champion),
    difference,
    lowerBound: lower,
    count: champion.credited + challenger.credited,
    ...(short
      ? {
          untrusted: `too few credited executions (champion ${champion.credited}, challenger ${challenger.credited}; each arm needs ${MIN_ARM_CREDITED})`,
        }
      : {}),
  };
}

/**
 * Shadow evidence: the challenger's off-policy value (doubly robust, else IPS) on the followed
 * credited decisions against the logging (champion) policy's observed mean, paired per decision;
 * the bound is the normal approximation at `confidence`.
 */
export function shadowEvidence(challenger: PolicyValue, champion: PolicyValue, confidence: number): PromotionEvidence {
  const value = challenger.doublyRobust ?? challenger.ips;
  const paired = challenger.versusLogging;
  const lowerBound = paired.value - normalQuantile(confidence) * paired.standardError;
  const untrusted =
    challenger.verdict === "ok"
      ? undefined
      : challenger.verdict === "low_support"
        ? `the challenger puts ${((1 - challenger.supportedShare) * 100).toFixed(1)}% of its choices on teams the champion never logs`
        : `too little evidence (effective sample size ${challenger.effectiveSampleSize.toFixed(1)} of ${challenger.decisions} credited decisions)`;
  return {
    challenger: value.value,
    champion: champion.ips.value,
    difference: paired.value,
    lowerBound,
    count: challenger.decisions,
    ...(untrusted ? { untrusted } : {}),
  };
}

/** Promote when the evidence can be trusted and its bound clears −margin. */
export function judgePromotion(evidence: PromotionEvidence, confidence: number, margin: number): PromotionVerdict {
  const level = `${Number((confidence * 100).toFixed(2))}%`;
  const figures = `challenger ${evidence.challenger.toFixed(3)} vs champion ${evidence.champion.toFixed(3)}, difference ${evidence.difference.toFixed(3)}, ${level} lower bound ${evidence.lowerBound.toFixed(3)}`;
  const threshold = margin > 0 ? `−${margin}` : "0";
  if (evidence.untrusted) return { promote: false, reason: `${evidence.untrusted}; ${figures}` };
  if (evidence.lowerBound >= -margin) return { promote: true, reason: `${figures} ≥ ${threshold}` };
  return { promote: false, reason: `not shown at least as good: ${figures} < ${threshold}` };
}
