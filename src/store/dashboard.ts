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
  p50_duration: z.number(),
  p90_duration: z.number(),
  successes_per_hour: z.number(),
  top_errors: z.array(z.string()),
});

/**
 * Agents ranked by success rate over every task type (with at least one execution), with their
 * duration percentiles (log-normal, from the aggregates), efficiency and most frequent errors.
 */
export async function readAgentRanking(db: CommonQueryMethods, limit: number): Promise<z.infer<typeof AgentRankRow>[]> {
  const rows = await db.any(sql.type(AgentRankRow)`
    WITH per_agent AS (
      SELECT s.agent, a.category, sum(s.executions) AS n, sum(s.successes) AS successes,
        sum(s.duration_sum) AS duration_sum, sum(s.log_duration_sum) AS log_sum,
        sum(s.log_duration_sq_sum) AS log_sq_sum
      FROM agent_stats s JOIN agents a ON a.name = s.agent
      GROUP BY s.agent, a.category
    ),
    -- Read once, not once per agent: the aggregates are views that add up the unfolded deltas.
    team_errors AS MATERIALIZED (
      SELECT c.agents, e.error_message, e.occurrences FROM combination_errors e
      JOIN combination_stats c ON c.task_type = e.task_type AND c.agent_set = e.agent_set
    )
    SELECT agent, category, n::bigint AS executions,
      (successes::float8 / n) AS success_rate,
      (duration_sum / n) AS mean_duration,
      exp(log_sum / n) - 1 AS p50_duration,
      exp(log_sum / n + 1.2816 * sqrt(greatest(0, (log_sq_sum - log_sum * log_sum / n) / greatest(n - 1, 1)))) - 1 AS p90_duration,
      CASE WHEN duration_sum > 0 THEN successes::float8 / (duration_sum / 3600) ELSE 0 END AS successes_per_hour,
      coalesce((SELECT array_agg(error_message ORDER BY total DESC, error_message) FROM (
        SELECT error_message, sum(occurrences) AS total FROM team_errors
        WHERE per_agent.agent = ANY(agents)
        GROUP BY error_message ORDER BY total DESC, error_message LIMIT 3) top), '{}') AS top_errors
    FROM per_agent
    ORDER BY success_rate DESC, executions DESC, agent LIMIT ${limit}`);
  return [...rows];
}
