import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

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
