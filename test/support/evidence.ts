// Builders of learning evidence for the pure learning tests: a task type's history as teams.
import { NO_EXECUTIONS } from "../../src/domain/evidence.js";
import { addSums, type CombinationEvidence, type OutcomeSums } from "../../src/learning/evidence.js";

/** A team's record: `executions` runs alternating 0.8× and 1.25× of `seconds`, the first `successes` of them successful. */
export function team(agents: string[], executions: number, successes: number, seconds = 60): CombinationEvidence {
  const sums: OutcomeSums = {
    executions,
    successes,
    durationSum: 0,
    logDurationSum: 0,
    logDurationSqSum: 0,
    complexitySum: 2 * executions,
  };
  for (let i = 0; i < executions; i++) {
    const d = seconds * (i % 2 === 0 ? 0.8 : 1.25);
    sums.durationSum += d;
    sums.logDurationSum += Math.log1p(d);
    sums.logDurationSqSum += Math.log1p(d) ** 2;
  }
  return { ...sums, agents: [...agents].sort() };
}

/** The sums of no executions (the service's own NO_EXECUTIONS). */
export const noSums = NO_EXECUTIONS;

/** The sums of two records together (the service's own addSums). */
export const plus = addSums;
