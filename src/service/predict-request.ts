import { z } from "zod";
import { DEFAULT_DEADLINE_LEVEL } from "../learning/deadline.js";
import type { PredictAgentsRequest } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { agentListSchema, agentNameSchema, finite, hasLoneSurrogate, parseRequest, taskTypeSchema, text } from "./validation.js";

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

/** A PredictAgents request as validated: its fields, normalised, with the defaults applied. */
export type PredictAgentsInput = z.output<typeof predictAgentsSchema>;

/**
 * Validates a PredictAgents request: a request that is plainly valid is read in one pass (zod's
 * refinement chains cost about a fifth of the handler's own time); anything else goes through
 * `predictAgentsSchema`, which alone decides what is wrong and says so. The one-pass reading
 * accepts only what the schema accepts and produces what it produces (checked against it by a
 * property test), and gives up on anything it would have to normalise beyond case.
 */
export function parsePredictAgents(request: PredictAgentsRequest): PredictAgentsInput {
  return plainlyValid(request) ?? parseRequest(predictAgentsSchema, request);
}

/** An identifier with nothing to trim or fold but ASCII case: the schema's result is its case change. */
const PLAIN_IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const isText = (s: string, max: number) => s.length <= max && !s.includes("\u0000") && !hasLoneSurrogate(s);
const inRange = (n: number, min: number, max: number) => Number.isFinite(n) && n >= min && n <= max;
const optionalInRange = (n: number | undefined, min: number, max: number) => n === undefined || inRange(n, min, max);

function plainAgents(list: readonly string[]): string[] | undefined {
  if (list.length > 64) return undefined;
  const out: string[] = [];
  for (const name of list) {
    if (!PLAIN_IDENTIFIER.test(name)) return undefined;
    out.push(name.toUpperCase());
  }
  return out;
}

/** The validated request when it is plainly valid (see parsePredictAgents), else undefined. */
export function plainlyValid(r: PredictAgentsRequest): PredictAgentsInput | undefined {
  if (!PLAIN_IDENTIFIER.test(r.taskType) || !inRange(r.complexity, 0, 10)) return undefined;
  if (!isText(r.taskDescription, 8192) || !isText(r.routingKey, 256)) return undefined;
  if (!Number.isInteger(r.maxRecommendations) || r.maxRecommendations > 20) return undefined;
  if (!Number.isInteger(r.maxAgents) || r.maxAgents > 64) return undefined;
  if (!optionalInRange(r.successWeight, 0, 1) || !optionalInRange(r.explorationRate, 0, 1)) return undefined;
  if (!optionalInRange(r.deadlineSeconds, 0, MAX_DEADLINE_SECONDS)) return undefined;
  const level = r.deadlineLevel;
  if (level !== undefined && (!(level > 0 && level < 1) || r.deadlineSeconds === undefined)) return undefined;
  const required = plainAgents(r.requiredAgents);
  const excluded = plainAgents(r.excludedAgents);
  const callers = plainAgents(r.callerDefaultAgents);
  if (!required || !excluded || !callers || new Set(callers).size !== callers.length) return undefined;
  const requiredAgents = [...new Set(required)];
  const excludedAgents = [...new Set(excluded)];
  if (requiredAgents.some((a) => excludedAgents.includes(a))) return undefined;
  if (r.maxAgents > 0 && requiredAgents.length > r.maxAgents) return undefined;
  return {
    taskType: r.taskType.toLowerCase(),
    complexity: r.complexity,
    taskDescription: r.taskDescription,
    maxRecommendations: r.maxRecommendations === 0 ? 3 : r.maxRecommendations,
    requiredAgents,
    excludedAgents,
    maxAgents: r.maxAgents,
    successWeight: r.successWeight ?? DEFAULT_SUCCESS_WEIGHT,
    explorationRate: r.explorationRate,
    callerDefaultAgents: callers,
    deadlineSeconds: r.deadlineSeconds,
    deadlineLevel: level,
    routingKey: r.routingKey,
    deadline: r.deadlineSeconds === undefined ? undefined : { seconds: r.deadlineSeconds, level: level ?? DEFAULT_DEADLINE_LEVEL },
  };
}

/** PredictOutcomeRequest, validated. */
export const predictOutcomeSchema = z.object({
  taskType: taskTypeSchema,
  complexity: finite(0, 10),
  agents: agentListSchema,
});
