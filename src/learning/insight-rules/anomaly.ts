// anomaly: failure burst: confidence = 1 − P(≥ k failures in the recent window | history's
// failure rate) (exact binomial tail), published when ≥ 0.999; slow outlier: an execution of the
// recent window more than 4 standard deviations above the task's mean ln duration,
// confidence = Φ(z).
import type { TaskEvidence } from "../../domain/evidence.js";
import type { Finding, RecentExecution } from "../../domain/insight.js";
import { logDurationMoments } from "../evidence.js";
import { binomialUpperTail, normalCdf } from "../normal.js";
import { betaMeanOf, pct, RULES } from "./shared.js";

/** Far more failures in the recent window than the task type's history makes likely. */
export function failureBurst(evidence: TaskEvidence, recent: readonly RecentExecution[]): Finding[] {
  const { taskType, task } = evidence;
  const window = recent.slice(-RULES.anomalyWindow);
  const before = {
    executions: task.executions - window.length,
    successes: task.successes - window.filter((e) => e.success).length,
  };
  if (window.length < 20 || before.executions < 50) return [];
  const failures = window.filter((e) => !e.success).length;
  const pFail = 1 - betaMeanOf(before.successes, before.executions);
  const conf = 1 - binomialUpperTail(failures, window.length, pFail);
  if (!(conf >= RULES.anomalyConfidence)) return [];
  return [
    {
      key: `anomaly|${taskType}||failure_burst`,
      type: "anomaly",
      taskType,
      agents: [],
      confidence: conf,
      confidenceMethod: "1 − P(≥ k failures in the window | historical failure rate), exact binomial",
      sampleSize: window.length,
      description:
        `failure burst on ${taskType}: ${failures} of the last ${window.length} executions failed, ` + `vs ${pct(pFail)} historically`,
      data: { window: window.length, failures, historical_failure_rate: pFail },
    },
  ];
}

/** The slowest execution of the recent window, when it lies far outside the task type's durations. */
export function slowOutlier(evidence: TaskEvidence, recent: readonly RecentExecution[]): Finding[] {
  const { taskType, task } = evidence;
  const window = recent.slice(-RULES.anomalyWindow);
  const moments = logDurationMoments(task);
  const sd = Math.sqrt(moments.variance);
  if (!(sd > 0) || task.executions < 30) return [];
  const worst = [...window].sort((a, b) => b.logDuration - a.logDuration)[0];
  const z = worst ? (worst.logDuration - moments.mean) / sd : 0;
  if (!worst || !(z >= RULES.outlierSigmas)) return [];
  return [
    {
      key: `anomaly|${taskType}||slow_outlier`,
      type: "anomaly",
      taskType,
      agents: [],
      confidence: normalCdf(z),
      confidenceMethod: "Φ(z) of the execution's ln(1+duration) under the task's normal fit",
      sampleSize: task.executions,
      description:
        `execution ${worst.executionId} on ${taskType} took ${Math.round(Math.exp(worst.logDuration) - 1)} s, ` +
        `${z.toFixed(1)} standard deviations above typical`,
      data: { execution_id: worst.executionId, seconds: Math.exp(worst.logDuration) - 1, z },
    },
  ];
}
