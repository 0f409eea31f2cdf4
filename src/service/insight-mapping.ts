import { create, type JsonObject } from "@bufbuild/protobuf";
import { type Insight, InsightSchema, InsightStatus, InsightType } from "../../gen/agentlearning/v1/learning_pb.js";
import type { InsightKind } from "../domain/insight.js";
import type { InsightRow } from "../store/insights.js";
import { timestampFromMicros } from "./execution-mapping.js";

/** Stored insight types ↔ the proto enum: one list, so the two can never drift apart silently. */
export const INSIGHT_KINDS: Record<InsightKind, InsightType> = {
  best_combo: InsightType.BEST_COMBO,
  avoid_pattern: InsightType.AVOID_PATTERN,
  bottleneck: InsightType.BOTTLENECK,
  underperforming_agent: InsightType.UNDERPERFORMING_AGENT,
  anomaly: InsightType.ANOMALY,
  trend: InsightType.TREND,
};

/** The stored name of a proto insight type. */
export function insightKindOf(type: InsightType): InsightKind | undefined {
  return (Object.entries(INSIGHT_KINDS) as [InsightKind, InsightType][]).find(([, t]) => t === type)?.[0];
}

/** Renders a stored insight (or one version of it from the feed) as the API message. */
export function insightToProto(row: InsightRow): Insight {
  return create(InsightSchema, {
    insightId: row.insight_id,
    cursor: row.seq.toString(),
    type: INSIGHT_KINDS[row.type],
    status: row.status === "active" ? InsightStatus.ACTIVE : InsightStatus.RETIRED,
    taskType: row.task_type,
    agents: row.agents,
    confidence: row.confidence,
    confidenceMethod: row.confidence_method,
    sampleSize: row.sample_size,
    description: row.description,
    data: row.data as JsonObject,
    createdAt: timestampFromMicros(row.created_at_us),
    updatedAt: timestampFromMicros(row.updated_at_us),
  });
}
