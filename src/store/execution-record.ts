import { createHash } from "node:crypto";
import { z } from "zod";

/** Longest accepted strings, shared by validation and the documentation in the proto. */
export const LIMITS = {
  executionId: 128,
  taskType: 64,
  taskDescription: 8192,
  agentName: 64,
  agents: 64,
  errorMessage: 4096,
  reference: 128,
  metrics: 64,
  metricName: 64,
  maxComplexity: 10,
  maxDurationSeconds: 31_536_000,
  maxCpuPercent: 100_000,
} as const;

/**
 * A validated, normalised execution: the exact shape the store writes and reads back. Timestamps
 * are microseconds since the Unix epoch, PostgreSQL's own precision, so a stored execution reads
 * back (and exports, and re-imports) unchanged.
 */
export const ExecutionRecordSchema = z.object({
  executionId: z.string(),
  taskType: z.string(),
  taskDescription: z.string(),
  complexity: z.number(),
  agents: z.array(z.string()),
  durationSeconds: z.number(),
  success: z.boolean(),
  errorMessage: z.string(),
  cpuPercent: z.number().nullable(),
  memoryMb: z.number().nullable(),
  metrics: z.record(z.string(), z.number()),
  userSatisfaction: z.number().int().nullable(),
  startedAtUs: z.bigint().nullable(),
  finishedAtUs: z.bigint().nullable(),
  recommendationId: z.string().nullable(),
  modelVersion: z.string().nullable(),
});

export type ExecutionRecord = z.infer<typeof ExecutionRecordSchema>;

/** A record as stored: with its commit time (µs) and insertion sequence. */
export type StoredExecution = ExecutionRecord & { recordedAtUs: bigint; seq: bigint };

/** The combination key of a team: the set of its agents, order ignored. */
export function agentSetKey(agents: readonly string[]): string {
  return [...agents].sort().join(",");
}

/**
 * SHA-256 of the canonical content of a record: equal for a faithful re-send (so it is
 * acknowledged as a duplicate), different for any change of content under the same id.
 */
export function contentHash(record: ExecutionRecord): Buffer {
  const canonical = JSON.stringify([
    record.executionId,
    record.taskType,
    record.taskDescription,
    record.complexity,
    record.agents,
    record.durationSeconds,
    record.success,
    record.errorMessage,
    record.cpuPercent,
    record.memoryMb,
    Object.entries(record.metrics).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    record.userSatisfaction,
    record.startedAtUs?.toString() ?? null,
    record.finishedAtUs?.toString() ?? null,
    record.recommendationId,
    record.modelVersion,
  ]);
  return createHash("sha256").update(canonical).digest();
}
