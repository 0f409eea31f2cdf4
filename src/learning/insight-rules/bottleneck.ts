// bottleneck: on ln(1 + duration), normal approximation: confidence = Φ((m_X − m_T − ln 1.5)
// / (s_T / √n_X)), i.e. P(typical duration more than 1.5× the task's); published when ≥ the
// threshold over every team and agent tested.
import type { OutcomeSums } from "../../domain/evidence.js";
import type { Finding } from "../../domain/insight.js";
import { teamKey, teamLabel } from "../../domain/team.js";
import { logDurationMoments } from "../evidence.js";
import { normalCdf } from "../normal.js";
import { type AggregateContext, publishThreshold, RULES } from "./shared.js";

/** Teams and agents much slower than the task type. */
export function bottlenecks({ evidence }: AggregateContext): Finding[] {
  const { taskType, task, combinations } = evidence;
  const taskMoments = logDurationMoments(task);
  const sd = Math.sqrt(taskMoments.variance);
  if (!(sd > 0)) return [];
  const findings: Finding[] = [];
  const slowCandidates: { agents: string[]; sums: OutcomeSums; scope: string }[] = [
    ...combinations.map((c) => ({ agents: c.agents, sums: c as OutcomeSums, scope: "team" })),
    ...evidence.agents.map((a) => ({ agents: [a.agent], sums: a as OutcomeSums, scope: "agent" })),
  ];
  for (const { agents, sums, scope } of slowCandidates) {
    if (sums.executions < RULES.minSamples || (scope === "agent" && sums.executions >= task.executions)) continue;
    const m = logDurationMoments(sums).mean;
    const z = (m - taskMoments.mean - Math.log(RULES.slowFactor)) / (sd / Math.sqrt(sums.executions));
    const conf = normalCdf(z);
    if (conf < publishThreshold(slowCandidates.length)) continue;
    const factor = Math.exp(m - taskMoments.mean);
    findings.push({
      key: `bottleneck|${taskType}|${teamKey(agents)}|${scope}`,
      type: "bottleneck",
      taskType,
      agents,
      confidence: conf,
      confidenceMethod: "normal approximation on ln(1+duration): P(typical duration > 1.5 × task's)",
      sampleSize: sums.executions,
      description:
        `${teamLabel(agents)} takes ${factor.toFixed(1)}× the typical time on ${taskType} ` +
        `(${Math.round(Math.exp(m) - 1)} s vs ${Math.round(Math.exp(taskMoments.mean) - 1)} s)`,
      data: {
        scope,
        slowdown_factor: factor,
        typical_seconds: Math.exp(m) - 1,
        task_typical_seconds: Math.exp(taskMoments.mean) - 1,
      },
    });
  }
  return findings;
}
