import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import type { StoredExecution } from "../store/execution-record.js";

/** Converts microseconds since the epoch to a protobuf Timestamp (floor division, so pre-1970 works). */
export function timestampFromMicros(us: bigint): Timestamp {
  let seconds = us / 1_000_000n;
  let micros = us % 1_000_000n;
  if (micros < 0n) {
    seconds -= 1n;
    micros += 1_000_000n;
  }
  return create(TimestampSchema, { seconds, nanos: Number(micros) * 1000 });
}

/** Renders a stored execution as the API's Execution message. */
export function executionToProto(e: StoredExecution): Execution {
  const hasUsage = e.cpuPercent !== null || e.memoryMb !== null || Object.keys(e.metrics).length > 0;
  return create(ExecutionSchema, {
    executionId: e.executionId,
    taskType: e.taskType,
    taskDescription: e.taskDescription,
    complexity: e.complexity,
    agents: e.agents,
    durationSeconds: e.durationSeconds,
    success: e.success,
    errorMessage: e.errorMessage,
    resourceUsage: hasUsage ? { cpuPercent: e.cpuPercent ?? 0, memoryMb: e.memoryMb ?? 0, metrics: e.metrics } : undefined,
    userSatisfaction: e.userSatisfaction ?? undefined,
    startedAt: e.startedAtUs === null ? undefined : timestampFromMicros(e.startedAtUs),
    finishedAt: e.finishedAtUs === null ? undefined : timestampFromMicros(e.finishedAtUs),
    recommendationId: e.recommendationId ?? "",
    modelVersion: e.modelVersion ?? "",
    recordedAt: timestampFromMicros(e.recordedAtUs),
  });
}
