// Arithmetic over the evidence learning works from (the shapes live in domain/evidence.ts, shared
// with the store that reads them).
import type { OutcomeSums } from "../domain/evidence.js";

export type { AgentEvidence, CatalogAgent, CombinationEvidence, OutcomeSums, TaskEvidence } from "../domain/evidence.js";

/** Mean and variance of ln(1 + duration) from sums; variance 0 below two executions. */
export function logDurationMoments(s: OutcomeSums): { mean: number; variance: number } {
  if (s.executions === 0) return { mean: 0, variance: 0 };
  const mean = s.logDurationSum / s.executions;
  const variance = s.executions > 1 ? Math.max(0, (s.logDurationSqSum - s.executions * mean * mean) / (s.executions - 1)) : 0;
  return { mean, variance };
}

/** The sums of two sets of executions together. */
export function addSums(a: OutcomeSums, b: OutcomeSums): OutcomeSums {
  return {
    executions: a.executions + b.executions,
    successes: a.successes + b.successes,
    durationSum: a.durationSum + b.durationSum,
    logDurationSum: a.logDurationSum + b.logDurationSum,
    logDurationSqSum: a.logDurationSqSum + b.logDurationSqSum,
    complexitySum: a.complexitySum + b.complexitySum,
  };
}
