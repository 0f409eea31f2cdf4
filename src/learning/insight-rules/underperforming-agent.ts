// underperforming_agent: confidence = P(p_with < p_without), comparing every observed team with
// the agent against the same team without it (matched, so the agent is not blamed for its
// company), over teams free of reported pairs; published when ≥ the threshold, the gap ≥ 0.15,
// and at least two different teams are each worse with the agent.
import { NO_EXECUTIONS, type OutcomeSums } from "../../domain/evidence.js";
import type { Finding } from "../../domain/insight.js";
import { teamKey } from "../../domain/team.js";
import { addSums } from "../evidence.js";
import { holdsAnyPair, reportedPairs } from "./avoid-pattern.js";
import { type AggregateContext, betaMeanOf, pct, probBelow, publishThreshold, RULES } from "./shared.js";

/** Agents that lower the success of every team they join, compared with the same team without them. */
export function underperformingAgents({ evidence }: AggregateContext, earlier: readonly Finding[]): Finding[] {
  const { taskType, combinations } = evidence;
  const findings: Finding[] = [];
  const badPairs = reportedPairs(earlier);
  const agentsSeen = [...new Set(combinations.flatMap((c) => c.agents))].sort();
  const clean = combinations.filter((c) => !holdsAnyPair(c, badPairs));
  const byKey = new Map(clean.map((c) => [teamKey(c.agents), c]));
  for (const agent of agentsSeen) {
    let withAgent: OutcomeSums = NO_EXECUTIONS;
    let without: OutcomeSums = NO_EXECUTIONS;
    let matched = 0;
    let everywhereWorse = true;
    for (const c of clean) {
      if (c.agents.length < 2 || !c.agents.includes(agent)) continue;
      const partner = byKey.get(teamKey(c.agents.filter((a) => a !== agent)));
      if (!partner || partner.executions < RULES.minSamples || c.executions < RULES.minSamples) continue;
      withAgent = addSums(withAgent, c);
      without = addSums(without, partner);
      matched++;
      const worseWithAgent = betaMeanOf(c.successes, c.executions) < betaMeanOf(partner.successes, partner.executions);
      if (!worseWithAgent) everywhereWorse = false;
    }
    // "Wherever it appears": at least two different teams, each worse with the agent.
    if (matched < 2 || !everywhereWorse) continue;
    if (withAgent.executions < RULES.minAgentSamples || without.executions < RULES.minAgentSamples) continue;
    const pWithout = betaMeanOf(without.successes, without.executions);
    const mean = betaMeanOf(withAgent.successes, withAgent.executions);
    const conf = probBelow(withAgent.successes, withAgent.executions, pWithout);
    if (conf < publishThreshold(agentsSeen.length) || pWithout - mean < RULES.underperformMargin) continue;
    findings.push({
      key: `underperforming_agent|${taskType}|${agent}`,
      type: "underperforming_agent",
      taskType,
      agents: [agent],
      confidence: conf,
      confidenceMethod: "posterior P(p_with_agent < p_same_teams_without_it), Beta(1+s, 1+f), matched teams",
      sampleSize: withAgent.executions,
      description:
        `${agent} lowers success on ${taskType}: ${pct(withAgent.successes / withAgent.executions)} with it ` +
        `vs ${pct(pWithout)} without`,
      data: {
        success_rate_with: withAgent.successes / withAgent.executions,
        success_rate_without: pWithout,
        executions_with: withAgent.executions,
      },
    });
  }
  return findings;
}
