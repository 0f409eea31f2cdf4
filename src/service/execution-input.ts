import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { LIMITS, type ExecutionRecord } from "../store/execution-record.js";
import { z } from "zod";
import { agentListSchema, finite, taskTypeSchema, text, timestampSchema } from "./validation.js";

const optionalReference = text(LIMITS.reference).transform((s) => (s === "" ? null : s));
// Built once: constructing a zod schema per metric name per execution dominated bulk validation.
const metricName = text(LIMITS.metricName, 1);

/**
 * The rules an incoming Execution must satisfy, over the generated message itself, producing the
 * normalised record the store writes. Field names in errors are the proto's.
 */
export const executionInputSchema = z
  .object({
    executionId: text(LIMITS.executionId, 1),
    taskType: taskTypeSchema,
    taskDescription: text(LIMITS.taskDescription),
    complexity: finite(0, LIMITS.maxComplexity),
    agents: agentListSchema,
    durationSeconds: finite(0, LIMITS.maxDurationSeconds),
    success: z.boolean(),
    errorMessage: text(LIMITS.errorMessage),
    resourceUsage: z
      .object({
        cpuPercent: finite(0, LIMITS.maxCpuPercent),
        memoryMb: finite(0, Number.MAX_VALUE),
        metrics: z
          .record(z.string(), finite(-Number.MAX_VALUE, Number.MAX_VALUE))
          .superRefine((metrics, ctx) => {
            const names = Object.keys(metrics);
            if (names.length > LIMITS.metrics) {
              ctx.addIssue({ code: "custom", message: `must have at most ${LIMITS.metrics} entries`, params: { reason: "TOO_MANY" } });
            }
            for (const name of names) {
              const check = metricName.safeParse(name);
              if (!check.success) {
                ctx.addIssue({ code: "custom", path: [name], message: `name ${check.error.issues[0]?.message ?? "is invalid"}`, params: { reason: "INVALID_NAME" } });
              }
            }
          }),
      })
      .optional(),
    userSatisfaction: z
      .number()
      .int()
      .min(1, { message: "must be between 1 and 10" })
      .max(10, { message: "must be between 1 and 10" })
      .optional(),
    startedAt: timestampSchema,
    finishedAt: timestampSchema,
    recommendationId: optionalReference,
    modelVersion: optionalReference,
  })
  .superRefine((e, ctx) => {
    if (e.startedAt !== null && e.finishedAt !== null && e.finishedAt < e.startedAt) {
      ctx.addIssue({ code: "custom", path: ["finishedAt"], message: "must not be before started_at", params: { reason: "BEFORE_START" } });
    }
  })
  .transform(
    (e): ExecutionRecord => ({
      executionId: e.executionId,
      taskType: e.taskType,
      taskDescription: e.taskDescription,
      complexity: e.complexity,
      agents: e.agents,
      durationSeconds: e.durationSeconds,
      success: e.success,
      errorMessage: e.errorMessage,
      cpuPercent: e.resourceUsage?.cpuPercent ?? null,
      memoryMb: e.resourceUsage?.memoryMb ?? null,
      metrics: e.resourceUsage?.metrics ?? {},
      userSatisfaction: e.userSatisfaction ?? null,
      startedAtUs: e.startedAt,
      finishedAtUs: e.finishedAt,
      recommendationId: e.recommendationId,
      modelVersion: e.modelVersion,
    }),
  );

/** The outcome of validating one execution: the record, or why not. */
export type ExecutionValidation = { ok: true; record: ExecutionRecord } | { ok: false; error: z.ZodError };

/** Validates and normalises one execution message. */
export function validateExecution(execution: Execution): ExecutionValidation {
  // zod's record parsing drops a "__proto__" key (it cannot be an ordinary own key of the object
  // it builds), so the name is refused here, before parsing, rather than silently lost.
  if (execution.resourceUsage && Object.hasOwn(execution.resourceUsage.metrics, "__proto__")) {
    return {
      ok: false,
      error: new z.ZodError([
        { code: "custom", path: ["resourceUsage", "metrics", "__proto__"], message: "name __proto__ is reserved", params: { reason: "RESERVED_NAME" } },
      ]),
    };
  }
  const result = executionInputSchema.safeParse(execution);
  return result.success ? { ok: true, record: result.data } : { ok: false, error: result.error };
}
