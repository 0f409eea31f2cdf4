import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { z } from "zod";
import {
  type AdminService,
  AgentRankingSchema,
  AnalyzeResponseSchema,
  ExportDataResponseSchema,
  GetDashboardResponseSchema,
  ImportDataResponseSchema,
  SetLearningModeResponseSchema,
  TaskTypeTrendSchema,
} from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import { readAgentRanking, readTrends } from "../store/dashboard.js";
import { readExecutionPage } from "../store/executions.js";
import { listInsights } from "../store/insights.js";
import { updateSettings } from "../store/settings.js";
import { runAnalysis } from "./analysis-runner.js";
import { ingestStream } from "./bulk-ingest.js";
import type { ServiceDependencies } from "./dependencies.js";
import { errorWithInfo } from "./errors.js";
import { evaluatePolicies } from "./evaluate-policies.js";
import { executionToProto } from "./execution-mapping.js";
import { insightToProto } from "./insight-mapping.js";
import { LEARNING_MODES, modeNameOf } from "./learning-mode.js";
import { activateModel, getModel, listModels, retrain } from "./model-service.js";
import { clearChallenger, getRollout, promoteChallenger, setChallenger } from "./rollout-service.js";
import { statusReport } from "./status-report.js";
import { knownEnum, parseRequest, taskTypeSchema, timestampSchema } from "./validation.js";

/** Rows fetched per page while exporting. */
const EXPORT_PAGE_SIZE = 500;

const optionalTaskType = z.union([z.literal(""), taskTypeSchema]).transform((t) => (t === "" ? undefined : t));

const exportRequestSchema = z
  .object({
    taskType: optionalTaskType,
    // Checked against PostgreSQL's range like an execution's timestamps.
    recordedAfter: timestampSchema,
    recordedBefore: timestampSchema,
  })
  .transform((r) => ({
    taskType: r.taskType,
    recordedAfterUs: r.recordedAfter ?? undefined,
    recordedBeforeUs: r.recordedBefore ?? undefined,
  }));

const dashboardRequestSchema = z.object({
  trendPoints: z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 2 && n <= 100), { message: "must be 0 or between 2 and 100", params: { reason: "OUT_OF_RANGE" } }),
  recentInsights: z.number().int().max(50, { message: "must be at most 50" }),
});

const setModeSchema = z.object({
  mode: knownEnum(LearningMode, { allowUnspecified: true }),
  learningEnabled: z.boolean().optional(),
});

/** The AdminService handlers: status, dashboard, analysis, mode, models, bulk data. */
export function adminService(deps: ServiceDependencies): ServiceImpl<typeof AdminService> {
  return {
    getStatus() {
      return statusReport(deps);
    },

    async getDashboard(request) {
      const r = parseRequest(dashboardRequestSchema, request);
      const [status, trends, agents, insights] = await Promise.all([
        statusReport(deps),
        readTrends(deps.pool, r.trendPoints || 20),
        readAgentRanking(deps.pool, 40),
        listInsights(deps.pool, { types: [], taskTypes: [], minConfidence: 0, status: "any" }, undefined, r.recentInsights || 10),
      ]);
      return create(GetDashboardResponseSchema, {
        status,
        trends: trends.map((t) =>
          create(TaskTypeTrendSchema, { taskType: t.task_type, successRates: t.rates, executionCount: t.executions }),
        ),
        agents: agents.map((a) =>
          create(AgentRankingSchema, {
            agent: a.agent,
            category: a.category,
            executionCount: a.executions,
            successRate: a.success_rate,
            meanDurationSeconds: a.mean_duration,
            p50DurationSeconds: a.p50_duration,
            p90DurationSeconds: a.p90_duration,
            efficiencyScore: a.successes_per_hour,
            topErrors: a.top_errors,
          }),
        ),
        recentInsights: insights.map(insightToProto),
      });
    },

    async analyze(request, context) {
      const { taskType } = parseRequest(z.object({ taskType: optionalTaskType }), request);
      const settings = await deps.settings.get();
      if (!settings.learning_enabled) {
        throw errorWithInfo(Code.FailedPrecondition, "learning is disabled (SetLearningMode learning_enabled=false)", "LEARNING_DISABLED");
      }
      const outcome = await runAnalysis(deps.pool, { taskType, tryOnly: false, signal: context.signal });
      return create(AnalyzeResponseSchema, {
        createdCount: outcome.created,
        updatedCount: outcome.updated,
        retiredCount: outcome.retired,
        executionCount: outcome.executions,
      });
    },

    async setLearningMode(request) {
      const r = parseRequest(setModeSchema, request);
      const settings = await updateSettings(deps.pool, { mode: modeNameOf(r.mode), learningEnabled: r.learningEnabled });
      deps.settings.set(settings);
      deps.log.info({ mode: settings.learning_mode, learningEnabled: settings.learning_enabled }, "learning settings changed");
      return create(SetLearningModeResponseSchema, {
        mode: LEARNING_MODES[settings.learning_mode],
        learningEnabled: settings.learning_enabled,
      });
    },

    async *exportData(request, context) {
      const filter = parseRequest(exportRequestSchema, request);
      let after = 0n;
      for (;;) {
        context.signal.throwIfAborted();
        const page = await readExecutionPage(deps.pool, filter, after, EXPORT_PAGE_SIZE);
        for (const execution of page) {
          context.signal.throwIfAborted();
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

    retrain(request, context) {
      return retrain(deps, request, context.signal);
    },
    listModels(request) {
      return listModels(deps, request);
    },
    activateModel(request) {
      return activateModel(deps, request);
    },
    getModel(request) {
      return getModel(deps, request);
    },
    evaluatePolicies(request, context) {
      return evaluatePolicies(deps, request, context.signal);
    },
    setChallenger(request) {
      return setChallenger(deps, request);
    },
    clearChallenger() {
      return clearChallenger(deps);
    },
    getRollout() {
      return getRollout(deps);
    },
    promoteChallenger(request) {
      return promoteChallenger(deps, request);
    },
  };
}
