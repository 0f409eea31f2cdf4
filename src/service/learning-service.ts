import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  type LearningService,
  ListInsightsResponseSchema,
  PredictOutcomeResponseSchema,
  RecordExecutionResponseSchema,
  RecordExecutionsResponseSchema,
} from "../../gen/agentlearning/v1/learning_service_pb.js";
import { contentHash } from "../store/execution-record.js";
import { storedExecution } from "../store/executions.js";
import { GroupCommit } from "./group-commit.js";
import { ingestStream } from "./bulk-ingest.js";
import type { ServiceDependencies } from "./dependencies.js";
import { errorWithInfo, invalidArgument } from "./errors.js";
import { executionViolations, validateExecution } from "./execution-input.js";
import { executionToProto } from "./execution-mapping.js";
import { estimateCombination } from "../learning/estimate.js";
import { AccuracyCache } from "./accuracy-cache.js";
import { ESTIMATE_SOURCES, predictAgents } from "./predict-agents.js";
import { predictOutcomeSchema } from "./predict-request.js";
import { parseRequest } from "./validation.js";
import { listInsights } from "../store/insights.js";
import { insightToProto } from "./insight-mapping.js";
import { encodePageToken, listInsightsSchema, streamInsightsSchema } from "./insight-requests.js";
import { streamInsights } from "./insight-stream.js";

/** The LearningService handlers: recording, prediction and the insight feed. */
export function learningService(deps: ServiceDependencies): ServiceImpl<typeof LearningService> {
  // Calibration moves thresholds slowly; recompute it at most every 10 s (served for at most 60 s
  // while recomputing fails).
  const accuracy = new AccuracyCache(deps.pool, 10_000, deps.log);
  const executions = new GroupCommit(deps.pool, deps.knownAgents);
  return {
    async recordExecution(request) {
      if (!request.execution) {
        throw invalidArgument([{ field: "execution", description: "is required", reason: "REQUIRED" }]);
      }
      const validation = validateExecution(request.execution);
      if (!validation.ok) throw invalidArgument(executionViolations(validation.issues, "execution"));
      const outcome = await executions.record(validation.record, contentHash(validation.record));
      if (outcome.kind === "conflict") {
        throw errorWithInfo(
          Code.AlreadyExists,
          `execution ${validation.record.executionId} is already stored with different content`,
          "EXECUTION_CONFLICT",
          { execution_id: validation.record.executionId },
        );
      }
      return create(RecordExecutionResponseSchema, {
        execution: executionToProto(storedExecution(validation.record, outcome)),
        duplicate: outcome.kind === "duplicate",
      });
    },

    async recordExecutions(requests, context) {
      const result = await ingestStream(deps.pool, deps.knownAgents, requests, deps.bulkBatchSize, context.signal);
      return create(RecordExecutionsResponseSchema, { result });
    },

    predictAgents(request) {
      return predictAgents(deps, accuracy, request);
    },

    async predictOutcome(request) {
      const r = parseRequest(predictOutcomeSchema, request);
      const evidence = await deps.evidence.get(r.taskType);
      const statistical = estimateCombination(evidence, r.agents);
      const override = await deps.estimates.override(deps.runtime.snapshot, evidence, r.complexity, [r.agents], { exact: true });
      const estimate = override ? override.estimate(0, r.agents, statistical) : statistical;
      return create(PredictOutcomeResponseSchema, {
        successProbability: estimate.successProbability,
        successInterval: estimate.successInterval,
        expectedDurationSeconds: estimate.expectedDurationSeconds,
        durationInterval: estimate.durationInterval,
        sampleSize: BigInt(estimate.sampleSize),
        source: ESTIMATE_SOURCES[estimate.source],
        modelVersion: estimate.modelVersion ?? "",
        confidence: estimate.confidence,
      });
    },
    streamInsights(request, context) {
      const parsed = parseRequest(streamInsightsSchema, request);
      return streamInsights(deps.pool, deps.listener, parsed, deps.heartbeatMs, context.signal);
    },

    async listInsights(request) {
      const r = parseRequest(listInsightsSchema, request);
      // One row more than the page tells whether another page follows.
      const rows = await listInsights(deps.pool, r.filter, r.after, r.pageSize + 1);
      const page = rows.slice(0, r.pageSize);
      const last = page.at(-1);
      return create(ListInsightsResponseSchema, {
        insights: page.map(insightToProto),
        nextPageToken: rows.length > r.pageSize && last ? encodePageToken(last.updated_at_us, last.insight_id) : "",
      });
    },
  };
}
