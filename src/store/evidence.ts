import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { type CatalogAgent, NO_EXECUTIONS, type TaskEvidence } from "../domain/evidence.js";

/** How many combinations of a task type learning considers: the most frequent ones. */
const MAX_COMBINATIONS = 500;

const sums = {
  executions: z.bigint().transform(Number),
  successes: z.bigint().transform(Number),
  duration_sum: z.number(),
  log_duration_sum: z.number(),
  log_duration_sq_sum: z.number(),
  complexity_sum: z.number(),
};

const TaskRow = z.object(sums);
const CombinationRow = z.object({
  ...sums,
  agents: z.array(z.string()),
  top_errors: z.array(z.object({ message: z.string(), occurrences: z.number() })),
  orders: z.array(z.object({ agents: z.array(z.string()), executions: z.number(), successes: z.number() })),
});
const AgentRow = z.object({ ...sums, agent: z.string() });
const CatalogRow = z.object({ name: z.string(), category: z.string(), capabilities: z.array(z.string()) });

function toSums(row: z.infer<typeof TaskRow>) {
  return {
    executions: row.executions,
    successes: row.successes,
    durationSum: row.duration_sum,
    logDurationSum: row.log_duration_sum,
    logDurationSqSum: row.log_duration_sq_sum,
    complexitySum: row.complexity_sum,
  };
}

/** Reads the agent catalog. */
export async function readCatalog(db: CommonQueryMethods): Promise<CatalogAgent[]> {
  const rows = await db.any(sql.type(CatalogRow)`SELECT name, category, capabilities FROM agents ORDER BY name`);
  return rows.map((r) => ({ name: r.name, category: r.category, capabilities: r.capabilities }));
}

/**
 * Reads everything learning knows about one task type from the running aggregates: bounded by the
 * number of distinct teams, never by the length of history.
 */
export async function readTaskEvidence(db: CommonQueryMethods, taskType: string, catalog?: CatalogAgent[]): Promise<TaskEvidence> {
  const [task, combinations, agents, agentCatalog] = await Promise.all([
    db.maybeOne(sql.type(TaskRow)`
      SELECT executions, successes, duration_sum, log_duration_sum, log_duration_sq_sum, complexity_sum
      FROM task_type_stats WHERE task_type = ${taskType}`),
    // Each aggregate is read once for the task type (its top three errors and orders per team by
    // a window), not once per team: the aggregates are views that add the deltas not yet folded,
    // and a correlated read per team would scan those deltas once per team.
    db.any(sql.type(CombinationRow)`
      WITH teams AS (
        SELECT agent_set, agents, executions, successes, duration_sum, log_duration_sum, log_duration_sq_sum, complexity_sum
        FROM combination_stats WHERE task_type = ${taskType}
        ORDER BY executions DESC, agent_set
        LIMIT ${MAX_COMBINATIONS}
      ),
      errors AS (
        SELECT agent_set, jsonb_agg(jsonb_build_object('message', error_message, 'occurrences', occurrences)
                 ORDER BY occurrences DESC, error_message) AS top_errors
        FROM (SELECT agent_set, error_message, occurrences,
                row_number() OVER (PARTITION BY agent_set ORDER BY occurrences DESC, error_message) AS rank
              FROM combination_errors WHERE task_type = ${taskType}) e
        WHERE rank <= 3 GROUP BY agent_set
      ),
      orders AS (
        SELECT agent_set, jsonb_agg(jsonb_build_object('agents', agent_sequence, 'executions', executions,
                 'successes', successes) ORDER BY executions DESC, agent_sequence) AS orders
        FROM (SELECT agent_set, agent_sequence, executions, successes,
                row_number() OVER (PARTITION BY agent_set ORDER BY executions DESC, agent_sequence) AS rank
              FROM sequence_stats WHERE task_type = ${taskType}) q
        WHERE rank <= 3 GROUP BY agent_set
      )
      SELECT c.executions, c.successes, c.duration_sum, c.log_duration_sum, c.log_duration_sq_sum,
        c.complexity_sum, c.agents, coalesce(e.top_errors, '[]'::jsonb) AS top_errors,
        coalesce(o.orders, '[]'::jsonb) AS orders
      FROM teams c LEFT JOIN errors e USING (agent_set) LEFT JOIN orders o USING (agent_set)
      ORDER BY c.executions DESC, c.agent_set`),
    db.any(sql.type(AgentRow)`
      SELECT agent, executions, successes, duration_sum, log_duration_sum, log_duration_sq_sum, complexity_sum
      FROM agent_stats WHERE task_type = ${taskType} ORDER BY agent`),
    catalog ? Promise.resolve(catalog) : readCatalog(db),
  ]);
  return {
    taskType,
    task: task ? toSums(task) : NO_EXECUTIONS,
    combinations: combinations.map((c) => ({ ...toSums(c), agents: c.agents, topErrors: c.top_errors, orders: c.orders })),
    agents: agents.map((a) => ({ ...toSums(a), agent: a.agent })),
    catalog: agentCatalog,
    asOfMs: Date.now(),
  };
}

const TaskTypeRow = z.object({ task_type: z.string() });

/** Every task type with recorded executions. */
export async function readTaskTypes(db: CommonQueryMethods): Promise<string[]> {
  const rows = await db.any(sql.type(TaskTypeRow)`SELECT task_type FROM task_type_stats ORDER BY task_type`);
  return rows.map((r) => r.task_type);
}
