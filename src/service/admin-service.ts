import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type AdminService,
  ExportDataResponseSchema,
  GetStatusResponseSchema,
  ImportDataResponseSchema,
  PredictionAccuracySchema,
} from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import { readExecutionPage } from "../store/executions.js";
import { readCounts, readSettings, type LearningSettings } from "../store/status.js";
import { ingestStream } from "./bulk-ingest.js";
import type { ServiceDependencies } from "./dependencies.js";
import { executionToProto, microsFromTimestamp, timestampFromMicros } from "./execution-mapping.js";
import { SERVICE_VERSION } from "../version.js";
import { notYetAvailable } from "./not-yet-available.js";
import { parseRequest, taskTypeSchema } from "./validation.js";
import { z } from "zod";
import type { Timestamp } from "@bufbuild/protobuf/wkt";

/** Rows fetched per page while exporting. */
const EXPORT_PAGE_SIZE = 500;

const learningModes: Record<LearningSettings["learning_mode"], LearningMode> = {
  observation: LearningMode.OBSERVATION,
  advisory: LearningMode.ADVISORY,
  adaptive: LearningMode.ADAPTIVE,
  autonomous: LearningMode.AUTONOMOUS,
};

const exportRequestSchema = z
  .object({
    taskType: z.union([z.literal(""), taskTypeSchema]),
    recordedAfter: z.custom<Timestamp | undefined>(),
    recordedBefore: z.custom<Timestamp | undefined>(),
  })
  .transform((r) => ({
    taskType: r.taskType === "" ? undefined : r.taskType,
    recordedAfterUs: r.recordedAfter ? microsFromTimestamp(r.recordedAfter) : undefined,
    recordedBeforeUs: r.recordedBefore ? microsFromTimestamp(r.recordedBefore) : undefined,
  }));

/** The AdminService handlers: status and bulk data movement now; analysis and models later. */
export function adminService(deps: ServiceDependencies): ServiceImpl<typeof AdminService> {
  return {
    async getStatus() {
      const [counts, settings] = await Promise.all([readCounts(deps.pool), readSettings(deps.pool)]);
      return create(GetStatusResponseSchema, {
        serviceVersion: SERVICE_VERSION,
        databaseReady: deps.isDatabaseReady(),
        schemaVersion: deps.schemaVersion(),
        executionCount: counts.execution_count,
        agentCount: counts.agent_count,
        taskTypeCount: counts.task_type_count,
        combinationCount: counts.combination_count,
        successRate: counts.execution_count > 0n ? Number(counts.success_count) / Number(counts.execution_count) : 0,
        learningMode: learningModes[settings.learning_mode],
        learningEnabled: settings.learning_enabled,
        insightCount: 0n,
        activeModelVersion: "",
        startedAt: timestampFromMicros(BigInt(deps.startedAtMs) * 1000n),
        lastRecordedAt: counts.last_recorded_at_us === null ? undefined : timestampFromMicros(counts.last_recorded_at_us),
        // No recommendation has been issued by this build, so none can have been evaluated yet.
        predictionAccuracy: create(PredictionAccuracySchema, { evaluatedCount: 0n }),
      });
    },

    async *exportData(request, context) {
      const filter = parseRequest(exportRequestSchema, request);
      let after = 0n;
      for (;;) {
        context.signal.throwIfAborted();
        const page = await readExecutionPage(deps.pool, filter, after, EXPORT_PAGE_SIZE);
        for (const execution of page) {
          yield create(ExportDataResponseSchema, { execution: executionToProto(execution) });
        }
        const last = page.at(-1);
        if (!last || page.length < EXPORT_PAGE_SIZE) return;
        after = last.seq;
      }
    },

    async importData(requests, context) {
      const result = await ingestStream(deps.pool, deps.knownAgents, requests, deps.bulkBatchSize, context.signal);
      return create(ImportDataResponseSchema, { result });
    },

    getDashboard() {
      throw notYetAvailable("GetDashboard", "the learning loop (dashboard)");
    },
    analyze() {
      throw notYetAvailable("Analyze", "the learning loop (pattern analysis)");
    },
    retrain() {
      throw notYetAvailable("Retrain", "learned models");
    },
    listModels() {
      throw notYetAvailable("ListModels", "learned models");
    },
    activateModel() {
      throw notYetAvailable("ActivateModel", "learned models");
    },
    setLearningMode() {
      throw notYetAvailable("SetLearningMode", "the learning loop (learning modes)");
    },
  };
}
