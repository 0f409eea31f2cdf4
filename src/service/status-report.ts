import { create } from "@bufbuild/protobuf";
import { type GetStatusResponse, GetStatusResponseSchema, PredictionAccuracySchema } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { readAccuracy } from "../store/accuracy.js";
import { countActiveInsights } from "../store/insights.js";
import { listModelVersions } from "../store/models.js";
import { readCounts } from "../store/status.js";
import { modelToProto } from "./model-service.js";
import { rolloutStatus } from "./rollout-service.js";
import { SERVICE_VERSION } from "../version.js";
import type { ServiceDependencies } from "./dependencies.js";
import { timestampFromMicros } from "./execution-mapping.js";
import { LEARNING_MODES } from "./learning-mode.js";

/**
 * The figures of GetStatus (also the head of GetDashboard). The counts come from the running
 * aggregates; the prediction accuracy joins the executions that name a recommendation with the
 * logged recommendations, so its cost grows with those; so do the arms of a rollout under way
 * (a shadow's is an off-policy pass over the rollout's credited decisions).
 */
export async function statusReport(deps: ServiceDependencies): Promise<GetStatusResponse> {
  // The accuracy joins the logged answers: write the queued ones first (rolloutStatus does too).
  await deps.recommendationLog.flush();
  const [counts, settings, insights, accuracy, activeModels, rollout] = await Promise.all([
    readCounts(deps.pool),
    deps.settings.get(),
    countActiveInsights(deps.pool),
    readAccuracy(deps.pool),
    listModelVersions(deps.pool, { status: "active" }),
    rolloutStatus(deps),
  ]);
  return create(GetStatusResponseSchema, {
    serviceVersion: SERVICE_VERSION,
    databaseReady: deps.isDatabaseReady(),
    schemaVersion: deps.schemaVersion(),
    executionCount: counts.execution_count,
    agentCount: counts.agent_count,
    taskTypeCount: counts.task_type_count,
    combinationCount: counts.combination_count,
    successRate: counts.execution_count > 0n ? Number(counts.success_count) / Number(counts.execution_count) : 0,
    learningMode: LEARNING_MODES[settings.learning_mode],
    learningEnabled: settings.learning_enabled,
    insightCount: insights,
    activeModelVersion: [deps.runtime.snapshot.success?.version, deps.runtime.snapshot.duration?.version].filter(Boolean).join(","),
    startedAt: timestampFromMicros(BigInt(deps.startedAtMs) * 1000n),
    lastRecordedAt: counts.last_recorded_at_us === null ? undefined : timestampFromMicros(counts.last_recorded_at_us),
    activeModels: activeModels.map(modelToProto),
    ...rollout,
    predictionAccuracy: create(PredictionAccuracySchema, {
      evaluatedCount: accuracy.evaluated,
      brierScore: accuracy.brier ?? 0,
      observedSuccessRate: accuracy.observed ?? 0,
      meanPredictedSuccess: accuracy.predicted ?? 0,
    }),
  });
}
