// trend: success rate of the recent window against the window before it, two-proportion z-test,
// confidence = 1 − two-sided p-value, published when ≥ 0.99.
import type { TaskEvidence } from "../../domain/evidence.js";
import type { Finding, RecentExecution } from "../../domain/insight.js";
import { normalCdf } from "../normal.js";
import { pct, RULES } from "./shared.js";

/** A success rate clearly rising or falling between the previous and the most recent window. */
export function successTrend(evidence: TaskEvidence, recent: readonly RecentExecution[]): Finding[] {
  const { taskType } = evidence;
  const newer = recent.slice(-RULES.trendWindow);
  const older = recent.slice(0, Math.max(0, recent.length - RULES.trendWindow));
  if (newer.length < RULES.trendWindow || older.length < RULES.trendWindow) return [];
  const p1 = older.filter((e) => e.success).length / older.length;
  const p2 = newer.filter((e) => e.success).length / newer.length;
  const pooled = (p1 * older.length + p2 * newer.length) / (older.length + newer.length);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / older.length + 1 / newer.length));
  const z = se > 0 ? (p2 - p1) / se : 0;
  const conf = 1 - 2 * (1 - normalCdf(Math.abs(z)));
  if (!(conf >= RULES.trendConfidence)) return [];
  const direction = z > 0 ? "rising" : "falling";
  return [
    {
      key: `trend|${taskType}||success_rate`,
      type: "trend",
      taskType,
      agents: [],
      confidence: conf,
      confidenceMethod: "1 − two-sided p-value of a two-proportion z-test, recent vs previous window",
      sampleSize: newer.length + older.length,
      description:
        `success rate on ${taskType} ${direction}: ${pct(p2)} in the last ${newer.length} executions ` +
        `vs ${pct(p1)} in the ${older.length} before`,
      data: {
        direction,
        recent_success_rate: p2,
        previous_success_rate: p1,
        recent_window: newer.length,
        previous_window: older.length,
      },
    },
  ];
}
