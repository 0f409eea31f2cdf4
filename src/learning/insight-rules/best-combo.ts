// best_combo: confidence = P(p_combo > p_T); published when ≥ the team threshold and the
// posterior mean beats p_T by ≥ 0.10, for the 3 best such teams of a task type.
import type { Finding } from "../../domain/insight.js";
import { teamKey, teamLabel } from "../../domain/team.js";
import { type AggregateContext, betaMeanOf, pct, probBelow, RULES } from "./shared.js";

/** The teams clearly better than a typical team of the task type. */
export function bestCombos({ evidence, pT, teamThreshold }: AggregateContext): Finding[] {
  const { taskType, combinations } = evidence;
  const best = combinations
    .filter((c) => c.executions >= RULES.minSamples)
    .map((c) => ({
      c,
      mean: betaMeanOf(c.successes, c.executions),
      conf: 1 - probBelow(c.successes, c.executions, pT),
    }))
    .filter((x) => x.conf >= teamThreshold && x.mean - pT >= RULES.bestMargin)
    .sort((a, b) => b.mean - a.mean)
    .slice(0, RULES.bestPerTask);
  return best.map(({ c, mean, conf }) => ({
    key: `best_combo|${taskType}|${teamKey(c.agents)}`,
    type: "best_combo",
    taskType,
    agents: c.agents,
    confidence: conf,
    confidenceMethod: "posterior P(p_team > p_task), Beta(1+s, 1+f)",
    sampleSize: c.executions,
    description:
      `${teamLabel(c.agents)} succeeds ${pct(c.successes / c.executions)} (${c.successes}/${c.executions}) ` +
      `on ${taskType}, vs ${pct(pT)} typical`,
    data: {
      success_rate: c.successes / c.executions,
      posterior_mean: mean,
      task_success_rate: pT,
      executions: c.executions,
      order: c.orders?.[0]?.agents ?? c.agents,
    },
  }));
}
