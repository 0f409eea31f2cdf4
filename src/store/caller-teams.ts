import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { CreditedDecisionFilter } from "./decisions.js";

const CallerTeamRow = z.object({ recommendation_id: z.string(), caller_agent_set: z.string() });

/**
 * The caller's own default team (agent set) of each logged decision whose caller offered one, by
 * the recommendation id of the decision's first team, under the same filter as the credited
 * decisions: what off-policy evaluation judges the "caller" policy on.
 */
export async function readCallerTeams(db: CommonQueryMethods, filter: CreditedDecisionFilter = {}): Promise<Map<string, string>> {
  const since = filter.sinceMs === undefined ? sql.fragment`true` : sql.fragment`d.created_at >= to_timestamp(${filter.sinceMs / 1000})`;
  const task = filter.taskType === undefined ? sql.fragment`true` : sql.fragment`d.task_type = ${filter.taskType}`;
  const rows = await db.any(sql.type(CallerTeamRow)`
    SELECT d.recommendation_id, r.caller_agent_set
    FROM decisions d JOIN recommendations r ON r.recommendation_id = d.recommendation_id
    WHERE r.caller_agent_set IS NOT NULL AND ${since} AND ${task}`);
  return new Map(rows.map((r) => [r.recommendation_id, r.caller_agent_set]));
}
