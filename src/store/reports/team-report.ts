import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

/** Teams per task type whose pairs the heat map considers: the most executed ones. */
const PAIR_TEAM_LIMIT = 500;
/** Pairs returned per task type, worst first. */
export const PAIR_LIMIT = 400;

const TaskTypeRow = z.object({ task_type: z.string(), executions: z.bigint(), successes: z.bigint() });

/** The task types with their totals, most executed first. */
export async function readTaskTypeTotals(
  db: CommonQueryMethods,
  taskType: string | undefined,
): Promise<readonly z.infer<typeof TaskTypeRow>[]> {
  const filter = taskType === undefined ? sql.fragment`true` : sql.fragment`task_type = ${taskType}`;
  return db.any(sql.type(TaskTypeRow)`
    SELECT task_type, executions, successes FROM task_type_stats WHERE ${filter}
    ORDER BY executions DESC, task_type`);
}

const TeamRow = z.object({
  agents: z.array(z.string()),
  executions: z.bigint(),
  successes: z.bigint(),
  median_duration: z.number(),
  p90_duration: z.number(),
});

/**
 * The teams of a task type with at least `minExecutions` runs, ranked by the posterior mean of
 * their success rate under a uniform prior, (1 + s) / (2 + n); durations from the log-normal fit of
 * the aggregates (as the agent ranking computes them).
 */
export async function readTeamStandings(
  db: CommonQueryMethods,
  taskType: string,
  minExecutions: number,
  limit: number,
): Promise<readonly z.infer<typeof TeamRow>[]> {
  return db.any(sql.type(TeamRow)`
    SELECT (SELECT array_agg(a ORDER BY a) FROM unnest(agents) a) AS agents, executions, successes,
      exp(log_duration_sum / executions) - 1 AS median_duration,
      exp(log_duration_sum / executions + 1.2816 * sqrt(greatest(0,
        (log_duration_sq_sum - log_duration_sum * log_duration_sum / executions) / greatest(executions - 1, 1)))) - 1 AS p90_duration
    FROM combination_stats
    WHERE task_type = ${taskType} AND executions >= ${minExecutions}
    ORDER BY (1 + successes)::float8 / (2 + executions) DESC, executions DESC, agent_set
    LIMIT ${limit}`);
}

const PairRow = z.object({
  agent_a: z.string(),
  agent_b: z.string(),
  executions: z.bigint(),
  failures: z.bigint(),
  dominant_error: z.string().nullable(),
  dominant_error_count: z.bigint().nullable(),
});

/**
 * For every pair of agents that ran together in one of the task type's most executed teams: the
 * executions and failures of the teams holding both, and the error message those failures carried
 * most often. Worst failure rate first.
 */
export async function readPairFailures(db: CommonQueryMethods, taskType: string): Promise<readonly z.infer<typeof PairRow>[]> {
  return db.any(sql.type(PairRow)`
    WITH teams AS (
      SELECT agent_set, agents, executions, successes FROM combination_stats
      WHERE task_type = ${taskType} ORDER BY executions DESC, agent_set LIMIT ${PAIR_TEAM_LIMIT}
    ), team_pairs AS (
      SELECT t.agent_set, a AS agent_a, b AS agent_b, t.executions, t.successes
      FROM teams t, unnest(t.agents) a, unnest(t.agents) b WHERE a < b
    ), pairs AS (
      SELECT agent_a, agent_b, sum(executions)::bigint AS executions, sum(executions - successes)::bigint AS failures
      FROM team_pairs GROUP BY agent_a, agent_b
    ), pair_errors AS (
      SELECT p.agent_a, p.agent_b, e.error_message, sum(e.occurrences)::bigint AS occurrences,
        row_number() OVER (PARTITION BY p.agent_a, p.agent_b ORDER BY sum(e.occurrences) DESC, e.error_message) AS rank
      FROM team_pairs p JOIN combination_errors e ON e.task_type = ${taskType} AND e.agent_set = p.agent_set
      GROUP BY p.agent_a, p.agent_b, e.error_message
    )
    SELECT p.agent_a, p.agent_b, p.executions, p.failures,
      e.error_message AS dominant_error, e.occurrences AS dominant_error_count
    FROM pairs p LEFT JOIN pair_errors e ON e.agent_a = p.agent_a AND e.agent_b = p.agent_b AND e.rank = 1
    ORDER BY p.failures::float8 / greatest(p.executions, 1) DESC, p.executions DESC, p.agent_a, p.agent_b
    LIMIT ${PAIR_LIMIT}`);
}
