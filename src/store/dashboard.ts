import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

/** Executions per task type the trend looks back over: bounded, whatever the history's length. */
const TREND_LOOKBACK = 2000;

const TrendRow = z.object({ task_type: z.string(), executions: z.bigint(), rates: z.array(z.number()) });

/** Success rate per task type over consecutive equal windows of its most recent executions, oldest first. */
export async function readTrends(db: CommonQueryMethods, points: number): Promise<z.infer<typeof TrendRow>[]> {
  const rows = await db.any(sql.type(TrendRow)`
    SELECT t.task_type, t.executions,
      coalesce((SELECT array_agg(rate ORDER BY bucket) FROM (
        SELECT bucket, avg(success::int)::float8 AS rate FROM (
          SELECT success, ntile(${points}) OVER (ORDER BY seq) AS bucket FROM (
            SELECT success, seq FROM executions e WHERE e.task_type = t.task_type
            ORDER BY seq DESC LIMIT ${TREND_LOOKBACK}) recent) b
        GROUP BY bucket) r), '{}') AS rates
    FROM task_type_stats t ORDER BY t.executions DESC, t.task_type`);
  return [...rows];
}

const AgentRankRow = z.object({
  agent: z.string(),
  category: z.string(),
  executions: z.bigint(),
  success_rate: z.number(),
  mean_duration: z.number(),
});

/** Agents ranked by success rate over every task type (with at least one execution). */
export async function readAgentRanking(db: CommonQueryMethods, limit: number): Promise<z.infer<typeof AgentRankRow>[]> {
  const rows = await db.any(sql.type(AgentRankRow)`
    SELECT s.agent, a.category, sum(s.executions)::bigint AS executions,
      (sum(s.successes)::float8 / sum(s.executions)) AS success_rate,
      (sum(s.duration_sum) / sum(s.executions)) AS mean_duration
    FROM agent_stats s JOIN agents a ON a.name = s.agent
    GROUP BY s.agent, a.category
    ORDER BY success_rate DESC, executions DESC, s.agent LIMIT ${limit}`);
  return [...rows];
}
