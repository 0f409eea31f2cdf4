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
    db.any(sql.type(CombinationRow)`
      SELECT c.executions, c.successes, c.duration_sum, c.log_duration_sum, c.log_duration_sq_sum,
        c.complexity_sum, c.agents,
        coalesce((SELECT jsonb_agg(jsonb_build_object('message', e.error_message, 'occurrences', e.occurrences)
                   ORDER BY e.occurrences DESC, e.error_message)
                  FROM (SELECT error_message, occurrences FROM combination_errors
                        WHERE task_type = c.task_type AND agent_set = c.agent_set
                        ORDER BY occurrences DESC, error_message LIMIT 3) e), '[]'::jsonb) AS top_errors,
        coalesce((SELECT jsonb_agg(jsonb_build_object('agents', q.agent_sequence, 'executions', q.executions,
                   'successes', q.successes) ORDER BY q.executions DESC, q.agent_sequence)
                  FROM (SELECT agent_sequence, executions, successes FROM sequence_stats
                        WHERE task_type = c.task_type AND agent_set = c.agent_set
                        ORDER BY executions DESC, agent_sequence LIMIT 3) q), '[]'::jsonb) AS orders
      FROM combination_stats c
      WHERE c.task_type = ${taskType}
      ORDER BY c.executions DESC, c.agent_set
      LIMIT ${MAX_COMBINATIONS}`),
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
