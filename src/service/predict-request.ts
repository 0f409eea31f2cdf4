import { z } from "zod";
import { DEFAULT_DEADLINE_LEVEL } from "../learning/deadline.js";
import { agentListSchema, agentNameSchema, finite, taskTypeSchema, text } from "./validation.js";

/** The success weight of a request that sets none. */
export const DEFAULT_SUCCESS_WEIGHT = 0.8;

const agentSet = z
  .array(agentNameSchema)
  .max(64, { message: "must name at most 64 agents" })
  .transform((list) => [...new Set(list)]);

/** The longest deadline accepted: a year. */
const MAX_DEADLINE_SECONDS = 366 * 24 * 3600;

/** PredictAgentsRequest, validated and with defaults applied. */
export const predictAgentsSchema = z
  .object({
    taskType: taskTypeSchema,
    complexity: finite(0, 10),
    taskDescription: text(8192),
    maxRecommendations: z.number().int().max(20, { message: "must be at most 20" }),
    requiredAgents: agentSet,
    excludedAgents: agentSet,
    maxAgents: z.number().int().max(64, { message: "must be at most 64" }),
    successWeight: finite(0, 1).optional(),
    explorationRate: finite(0, 1).optional(),
    callerDefaultAgents: z.union([z.array(z.never()).length(0), agentListSchema]),
    deadlineSeconds: finite(0, MAX_DEADLINE_SECONDS).optional(),
    deadlineLevel: z
      .number()
      .refine((level) => level > 0 && level < 1, { message: "must be strictly between 0 and 1", params: { reason: "OUT_OF_RANGE" } })
      .optional(),
    routingKey: text(256),
  })
  .superRefine((r, ctx) => {
    const clash = r.requiredAgents.find((a) => r.excludedAgents.includes(a));
    if (clash)
      ctx.addIssue({
        code: "custom",
        path: ["excludedAgents"],
        message: `${clash} is both required and excluded`,
        params: { reason: "CONFLICT" },
      });
    if (r.deadlineLevel !== undefined && r.deadlineSeconds === undefined) {
      ctx.addIssue({ code: "custom", path: ["deadlineLevel"], message: "needs deadline_seconds", params: { reason: "MISSING_DEADLINE" } });
    }
    if (r.maxAgents > 0 && r.requiredAgents.length > r.maxAgents) {
      ctx.addIssue({
        code: "custom",
        path: ["maxAgents"],
        message: "is smaller than the number of required agents",
        params: { reason: "CONFLICT" },
      });
    }
  })
  .transform((r) => ({
    ...r,
    maxRecommendations: r.maxRecommendations === 0 ? 3 : r.maxRecommendations,
    successWeight: r.successWeight ?? DEFAULT_SUCCESS_WEIGHT,
    deadline:
      r.deadlineSeconds === undefined ? undefined : { seconds: r.deadlineSeconds, level: r.deadlineLevel ?? DEFAULT_DEADLINE_LEVEL },
  }));

/** PredictOutcomeRequest, validated. */
export const predictOutcomeSchema = z.object({
  taskType: taskTypeSchema,
  complexity: finite(0, 10),
  agents: agentListSchema,
});
