import type { DeadlineRequest, DeadlineSummary } from "../learning/deadline.js";

const percent = (p: number) => `${Math.round(p * 100)}%`;

/** One clause of PredictAgents' explanation saying what a deadline left out, and why when it left out every team. */
export function deadlineExplanation(summary: DeadlineSummary, deadline: DeadlineRequest): string {
  const limit = `within ${deadline.seconds} s with probability ≥ ${deadline.level}`;
  if (summary.excluded < summary.considered) {
    return summary.excluded === 0
      ? `every candidate team finishes ${limit}`
      : `${summary.excluded} of ${summary.considered} candidate teams left out: unlikely to finish ${limit}`;
  }
  if (summary.considered === 0) return `no candidate team to judge against the deadline`;
  if (summary.unknown === summary.considered)
    return `no team qualifies for the deadline: no duration recorded for this task type yet, so no team is known to finish ${limit}`;
  return `no team qualifies for the deadline: none of ${summary.considered} candidate teams finishes ${limit} (the likeliest: ${percent(summary.bestExcludedProbability)})`;
}
