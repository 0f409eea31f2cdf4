// What the insight rules share: their thresholds, the Beta-posterior arithmetic, the context an
// aggregate rule is given, and the common shapes of a rule.
import { type CombinationEvidence, NO_EXECUTIONS, type OutcomeSums, type TaskEvidence } from "../../domain/evidence.js";
import type { Finding, RecentExecution } from "../../domain/insight.js";
import { betaCdf } from "../beta.js";

/** Thresholds of the rules; the defaults are the documented ones. */
export const RULES = {
  minSamples: 5,
  minAgentSamples: 10,
  publishConfidence: 0.95,
  bestMargin: 0.1,
  bestPerTask: 3,
  avoidMargin: 0.15,
  interactionMargin: 0.1,
  interactionConfidence: 0.9,
  underperformMargin: 0.15,
  slowFactor: 1.5,
  anomalyWindow: 50,
  anomalyConfidence: 0.999,
  outlierSigmas: 4,
  trendWindow: 100,
  trendConfidence: 0.99,
} as const;

/** What every aggregate rule of one task type is given. */
export interface AggregateContext {
  evidence: TaskEvidence;
  /** The success rate of a typical team of the task type (typicalTeamRate). */
  pT: number;
  /** The confidence a finding about one team needs (publishThreshold over the teams tested). */
  teamThreshold: number;
}

/**
 * An aggregate rule: the findings of one insight type for one task type. `earlier` holds what
 * the rules before it found, for a rule that must not blame what an earlier one explained.
 */
export type AggregateRule = (context: AggregateContext, earlier: readonly Finding[]) => Finding[];

/** A rule over the most recent executions of one task type. */
export type RecentRule = (evidence: TaskEvidence, recent: readonly RecentExecution[]) => Finding[];

/** A share as a whole percentage, for descriptions. */
export const pct = (p: number) => `${Math.round(p * 100)}%`;

/** The posterior mean of a success rate, Beta(1 + s, 1 + n − s). */
export const betaMeanOf = (s: number, n: number) => (1 + s) / (2 + n);

/** P(p < threshold) for p ~ Beta(1 + s, 1 + n − s). */
export const probBelow = (s: number, n: number, threshold: number) => betaCdf(threshold, 1 + s, 1 + n - s);

/** Sums of every team containing all of `agents` (and none of `without`). */
export function sumsOver(
  combinations: readonly CombinationEvidence[],
  agents: readonly string[],
  without: readonly string[] = [],
): OutcomeSums {
  // Summed in place, in the same order as addSums would: rules call this for every pair of
  // agents over every team, and an object per team added was most of an analysis's garbage.
  const total: OutcomeSums = { ...NO_EXECUTIONS };
  for (const c of combinations) {
    if (!holdsAll(c.agents, agents) || holdsAnyOf(c.agents, without)) continue;
    total.executions += c.executions;
    total.successes += c.successes;
    total.durationSum += c.durationSum;
    total.logDurationSum += c.logDurationSum;
    total.logDurationSqSum += c.logDurationSqSum;
    total.complexitySum += c.complexitySum;
  }
  return total;
}

/** Whether `team` holds every one of `agents`. */
export function holdsAll(team: readonly string[], agents: readonly string[]): boolean {
  for (const a of agents) if (!team.includes(a)) return false;
  return true;
}

function holdsAnyOf(team: readonly string[], agents: readonly string[]): boolean {
  for (const a of agents) if (team.includes(a)) return true;
  return false;
}

/** The most frequent error message of the failures of teams holding `agents`, and its share of them. */
export function dominantError(
  combinations: readonly CombinationEvidence[],
  agents: readonly string[],
): { message: string; share: number } | undefined {
  const counts = new Map<string, number>();
  let failures = 0;
  for (const c of combinations) {
    if (!agents.every((a) => c.agents.includes(a))) continue;
    failures += c.executions - c.successes;
    for (const e of c.topErrors ?? []) counts.set(e.message, (counts.get(e.message) ?? 0) + e.occurrences);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  return top && failures > 0 ? { message: top[0], share: top[1] / failures } : undefined;
}

/**
 * The success rate of a typical team of the task type: the median posterior mean of its
 * well-observed teams (or the task's overall rate with fewer than three). Not the execution-weighted
 * rate: once recommendations are followed, the best team dominates the history and would make
 * every ordinary team look like one to avoid.
 */
export function typicalTeamRate(evidence: TaskEvidence): number {
  const rates = evidence.combinations
    .filter((c) => c.executions >= RULES.minSamples)
    .map((c) => betaMeanOf(c.successes, c.executions))
    .sort((a, b) => a - b);
  if (rates.length < 3) return betaMeanOf(evidence.task.successes, evidence.task.executions);
  const mid = rates.length >> 1;
  return rates.length % 2 === 1 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
}

/**
 * The confidence a finding needs when `tests` candidates were tested by the same rule in the same
 * task type: 1 − 0.05 / tests (Bonferroni; at least 0.95), so the chance that a rule publishes
 * any false finding for a task type stays near 5% however many teams it looked at.
 */
export function publishThreshold(tests: number): number {
  return Math.max(RULES.publishConfidence, 1 - (1 - RULES.publishConfidence) / Math.max(1, tests));
}
