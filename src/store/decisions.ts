import { type CommonQueryMethods, type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";
import { logAnswers } from "./answer-log.js";
import type { RecommendationLog } from "./recommendations.js";

/** One team's first-pick probability in a decision, with the estimates the policy ranked it by. */
export const DecisionTeamSchema = z.object({
  agent_set: z.string(),
  probability: z.number(),
  success_probability: z.number(),
  expected_duration_seconds: z.number(),
});

/** A team as `decisions.top_teams` holds it. */
export type DecisionTeam = z.infer<typeof DecisionTeamSchema>;

/** A row of `decisions` (see migration 006): how one PredictAgents answer chose its first team. */
export const DecisionRow = z.object({
  decision_id: z.string(),
  request_id: z.string(),
  /** Milliseconds since the Unix epoch. */
  created_at_ms: z.number(),
  task_type: z.string(),
  complexity: z.number(),
  mode: z.string(),
  policy: z.enum(["statistical", "model"]),
  model_versions: z.array(z.string()),
  success_weight: z.number(),
  exploration: z.number(),
  candidate_count: z.number().int(),
  floor_propensity: z.number(),
  first_agent_set: z.string(),
  first_propensity: z.number(),
  greedy_agent_set: z.string(),
  top_teams: z.array(DecisionTeamSchema),
  shadow: z.unknown().nullable(),
  recommendation_id: z.string(),
});

/** One logged decision. */
export type Decision = z.infer<typeof DecisionRow>;

/**
 * A decision to log; `created_at` is the database's clock. During a challenger rollout (migration
 * 007): `rollout_id` and the `arm` that served it, and for a shadow the challenger's record
 * (rollouts.ts's ShadowLog).
 */
export type DecisionLog = Omit<Decision, "created_at_ms" | "shadow"> & {
  shadow?: unknown;
  rollout_id?: string;
  arm?: "champion" | "challenger";
};

/** Logs one PredictAgents decision alone (the service logs it with its recommendations: `logAnswer`). */
export async function insertDecision(db: CommonQueryMethods, d: DecisionLog): Promise<void> {
  await db.query(sql.type(z.object({}))`${decisionInsert(d)}`);
}

/**
 * Logs one answer's recommendations and its decision in ONE statement, both or neither (the batch
 * statement of `logAnswers` with a batch of one). PredictAgents does not call it on its path: its
 * answers go through the service's batched writer (recommendation-log-writer.ts).
 */
export async function logAnswer(
  db: CommonQueryMethods,
  recommendations: readonly RecommendationLog[],
  decision: DecisionLog | undefined,
): Promise<void> {
  await logAnswers(db, [{ recommendations, decision }]);
}

function decisionInsert(d: DecisionLog): FragmentSqlToken {
  return sql.fragment`
    INSERT INTO decisions (decision_id, request_id, task_type, complexity, mode, policy, model_versions,
      success_weight, exploration, candidate_count, floor_propensity, first_agent_set, first_propensity,
      greedy_agent_set, top_teams, shadow, recommendation_id, rollout_id, arm)
    VALUES (${d.decision_id}, ${d.request_id}, ${d.task_type}, ${d.complexity}, ${d.mode}, ${d.policy},
      ${sql.array(d.model_versions, "text")}, ${d.success_weight}, ${d.exploration}, ${d.candidate_count},
      ${d.floor_propensity}, ${d.first_agent_set}, ${d.first_propensity}, ${d.greedy_agent_set},
      ${sql.jsonb(d.top_teams)}, ${d.shadow === undefined ? null : sql.jsonb(d.shadow as never)}, ${d.recommendation_id},
      ${d.rollout_id ?? null}::bigint, ${d.arm ?? null})`;
}

/** A decision with the execution credited to it. */
export const CreditedDecisionRow = DecisionRow.extend({
  execution_id: z.string(),
  /** The agent set the caller really ran. */
  executed_agent_set: z.string(),
  success: z.boolean(),
  duration_seconds: z.number(),
  /** The caller ran the team returned first; false: excluded from off-policy evaluation. */
  followed: z.boolean(),
});

/** Which decisions to read: made at or after `since` (ms since the epoch), of one task type. */
export interface CreditedDecisionFilter {
  sinceMs?: number;
  taskType?: string;
}

/** The decision whose first team has this recommendation id, if one was logged (tests and diagnostics). */
export async function readDecisionOfRecommendation(db: CommonQueryMethods, recommendationId: string): Promise<Decision | null> {
  return (await readDecisionsOfRecommendations(db, [recommendationId]))[0] ?? null;
}

/** The decisions whose first teams have these recommendation ids, in no particular order. */
export async function readDecisionsOfRecommendations(
  db: CommonQueryMethods,
  recommendationIds: readonly string[],
): Promise<readonly Decision[]> {
  return db.any(sql.type(DecisionRow)`
    SELECT decision_id, request_id, (extract(epoch FROM created_at) * 1000)::float8 AS created_at_ms,
      task_type, complexity, mode, policy, model_versions, success_weight, exploration, candidate_count,
      floor_propensity, first_agent_set, first_propensity, greedy_agent_set, top_teams, shadow, recommendation_id
    FROM decisions WHERE recommendation_id = ANY(${sql.array(recommendationIds, "text")})`);
}
