// Pattern analysis: turns the evidence of one task type into findings (insights), each with a
// confidence that is a probability computed from the data, and the method that computed it. One
// rule per module in insight-rules/, each stating its method; this module runs them in order.
//
// Every "≥ 0.95" threshold is the floor of a Bonferroni-corrected one, 1 − 0.05 / (number of
// candidates the rule tested in the task type), so testing many teams does not publish chance
// findings (see publishThreshold).
//
// Success probabilities use Beta(1 + successes, 1 + failures) posteriors; p_T is the success rate
// of a typical team of the task type: the median posterior mean of its teams with at least 5
// executions (see typicalTeamRate).
import type { TaskEvidence } from "../domain/evidence.js";
import type { Finding, RecentExecution } from "../domain/insight.js";
import { failureBurst, slowOutlier } from "./insight-rules/anomaly.js";
import { avoidPatterns } from "./insight-rules/avoid-pattern.js";
import { bestCombos } from "./insight-rules/best-combo.js";
import { bottlenecks } from "./insight-rules/bottleneck.js";
import { type AggregateRule, publishThreshold, type RecentRule, RULES, typicalTeamRate } from "./insight-rules/shared.js";
import { successTrend } from "./insight-rules/trend.js";
import { underperformingAgents } from "./insight-rules/underperforming-agent.js";

export type { Finding, InsightKind, RecentExecution } from "../domain/insight.js";
export { publishThreshold, RULES, typicalTeamRate } from "./insight-rules/shared.js";

/** The rules over a task type's aggregates, in order: a later rule sees what the earlier found. */
const AGGREGATE_RULES: readonly AggregateRule[] = [bestCombos, avoidPatterns, underperformingAgents, bottlenecks];

/** The rules over a task type's most recent executions. */
const RECENT_RULES: readonly RecentRule[] = [failureBurst, slowOutlier, successTrend];

/** Finds best teams, failing pairs and teams, underperforming agents and bottlenecks of a task type. */
export function aggregateFindings(evidence: TaskEvidence): Finding[] {
  if (evidence.task.executions < RULES.minSamples) return [];
  const testedTeams = evidence.combinations.filter((c) => c.executions >= RULES.minSamples).length;
  const context = { evidence, pT: typicalTeamRate(evidence), teamThreshold: publishThreshold(testedTeams) };
  const findings: Finding[] = [];
  for (const rule of AGGREGATE_RULES) findings.push(...rule(context, findings));
  return findings;
}

/** Finds failure bursts, slow outliers and success-rate trends in the most recent executions. */
export function recentFindings(evidence: TaskEvidence, recent: readonly RecentExecution[]): Finding[] {
  return RECENT_RULES.flatMap((rule) => rule(evidence, recent));
}
