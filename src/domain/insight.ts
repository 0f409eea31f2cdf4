// What analysis finds and the store keeps: shared by learning/ (the rules that produce findings)
// and store/ (which persists them as insights), so neither imports the other.

/** The insight types, as stored and as the proto's InsightType names them (lower case). */
export const INSIGHT_KINDS = ["best_combo", "avoid_pattern", "bottleneck", "underperforming_agent", "anomaly", "trend"] as const;

/** One of INSIGHT_KINDS. */
export type InsightKind = (typeof INSIGHT_KINDS)[number];

/** A finding of analysis, before it is stored as an insight. */
export interface Finding {
  /** What makes two findings the same insight (type, task type, agents, variant). */
  key: string;
  type: InsightKind;
  taskType: string;
  agents: string[];
  confidence: number;
  confidenceMethod: string;
  sampleSize: number;
  description: string;
  data: Record<string, unknown>;
}

/** The most recent executions of a task type, newest last, for anomaly and trend rules. */
export interface RecentExecution {
  executionId: string;
  success: boolean;
  logDuration: number;
}
