import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { type CreditedDecisionFilter, CreditedDecisionRow } from "./decisions.js";

/** A credited decision as off-policy evaluation reads it: with the caller's own team, when it offered one. */
export const EvaluatedDecisionRow = CreditedDecisionRow.extend({
  /** The caller's default agent set (`caller_default_agents`), null when it offered none. */
  caller_agent_set: z.string().nullable(),
});

/** One decision of the evaluation log. */
export type EvaluatedDecision = z.infer<typeof EvaluatedDecisionRow>;

/**
 * The decisions whose first team has an outcome, under the filter, oldest first: each joined to
 * the earliest execution recorded with its first team's recommendation id, and to the caller's
 * own team. `followed` says whether that execution ran the team the policy chose; a not-followed
 * decision's outcome belongs to a team the policy did not pick, so evaluators exclude it (and
 * report how many they excluded). The first executions are found for all decisions at once (DISTINCT ON
 * over a join, which PostgreSQL can hash) rather than by a LIMIT 1 subquery per decision: the
 * planner ran that one as a walk of the executions in `seq` order for every decision, quadratic
 * in the log (30 s at 10^4 decisions).
 */
export async function readEvaluationLog(
  db: CommonQueryMethods,
  filter: CreditedDecisionFilter = {},
): Promise<readonly EvaluatedDecision[]> {
  const since = filter.sinceMs === undefined ? sql.fragment`true` : sql.fragment`d.created_at >= to_timestamp(${filter.sinceMs / 1000})`;
  const task = filter.taskType === undefined ? sql.fragment`true` : sql.fragment`d.task_type = ${filter.taskType}`;
  return db.any(sql.type(EvaluatedDecisionRow)`
    WITH chosen AS (
      SELECT * FROM decisions d WHERE ${since} AND ${task}
    ), credit AS (
      SELECT DISTINCT ON (x.recommendation_id) x.recommendation_id, x.execution_id, x.agent_set, x.success, x.duration_seconds
      FROM executions x JOIN chosen c ON c.recommendation_id = x.recommendation_id
      ORDER BY x.recommendation_id, x.seq
    )
    SELECT d.decision_id, d.request_id, (extract(epoch FROM d.created_at) * 1000)::float8 AS created_at_ms,
      d.task_type, d.complexity, d.mode, d.policy, d.model_versions, d.success_weight, d.exploration,
      d.candidate_count, d.floor_propensity, d.first_agent_set, d.first_propensity, d.greedy_agent_set,
      d.top_teams, d.shadow, d.recommendation_id,
      e.execution_id, e.agent_set AS executed_agent_set, e.success, e.duration_seconds,
      e.agent_set = d.first_agent_set AS followed, r.caller_agent_set
    FROM chosen d
    JOIN credit e ON e.recommendation_id = d.recommendation_id
    LEFT JOIN recommendations r ON r.recommendation_id = d.recommendation_id
    ORDER BY d.created_at, d.decision_id`);
}
