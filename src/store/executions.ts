import { type CommonQueryMethods, type DatabasePool, sql } from "slonik";
import { z } from "zod";
import { agentSetKey, contentHash, type ExecutionRecord, type StoredExecution } from "./execution-record.js";

/** What became of one execution handed to `insertExecutions`. */
export type InsertOutcome =
  | { kind: "stored"; execution: StoredExecution }
  | { kind: "duplicate"; execution: StoredExecution }
  | { kind: "conflict"; executionId: string };

const ExecutionRow = z.object({
  seq: z.bigint(),
  execution_id: z.string(),
  task_type: z.string(),
  task_description: z.string(),
  complexity: z.number(),
  agents: z.array(z.string()),
  duration_seconds: z.number(),
  success: z.boolean(),
  error_message: z.string(),
  cpu_percent: z.number().nullable(),
  memory_mb: z.number().nullable(),
  metrics: z.record(z.string(), z.number()),
  user_satisfaction: z.number().int().nullable(),
  started_at_us: z.bigint().nullable(),
  finished_at_us: z.bigint().nullable(),
  recommendation_id: z.string().nullable(),
  model_version: z.string().nullable(),
  recorded_at_us: z.bigint(),
  content_hash: z.instanceof(Buffer),
});
type ExecutionRow = z.infer<typeof ExecutionRow>;

const selectExecutionColumns = sql.fragment`
  seq, execution_id, task_type, task_description, complexity, agents, duration_seconds, success,
  error_message, cpu_percent, memory_mb, metrics, user_satisfaction,
  (extract(epoch FROM started_at) * 1000000)::bigint AS started_at_us,
  (extract(epoch FROM finished_at) * 1000000)::bigint AS finished_at_us,
  recommendation_id, model_version,
  (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at_us,
  content_hash`;

function toStored(row: ExecutionRow): StoredExecution {
  return {
    seq: row.seq,
    executionId: row.execution_id,
    taskType: row.task_type,
    taskDescription: row.task_description,
    complexity: row.complexity,
    agents: row.agents,
    durationSeconds: row.duration_seconds,
    success: row.success,
    errorMessage: row.error_message,
    cpuPercent: row.cpu_percent,
    memoryMb: row.memory_mb,
    metrics: row.metrics,
    userSatisfaction: row.user_satisfaction,
    startedAtUs: row.started_at_us,
    finishedAtUs: row.finished_at_us,
    recommendationId: row.recommendation_id,
    modelVersion: row.model_version,
    recordedAtUs: row.recorded_at_us,
  };
}

/** One input row as JSON for `jsonb_to_recordset`; bigints travel as strings to stay exact. */
function toInputJson(record: ExecutionRecord, ord: number) {
  return {
    ord,
    execution_id: record.executionId,
    task_type: record.taskType,
    task_description: record.taskDescription,
    complexity: record.complexity,
    agents: record.agents,
    agent_set: agentSetKey(record.agents),
    sorted_agents: [...record.agents].sort(),
    duration_seconds: record.durationSeconds,
    success: record.success,
    error_message: record.errorMessage,
    cpu_percent: record.cpuPercent,
    memory_mb: record.memoryMb,
    metrics: record.metrics,
    user_satisfaction: record.userSatisfaction,
    started_at_us: record.startedAtUs?.toString() ?? null,
    finished_at_us: record.finishedAtUs?.toString() ?? null,
    recommendation_id: record.recommendationId,
    model_version: record.modelVersion,
    content_hash: contentHash(record).toString("hex"),
  };
}

const InsertedRow = z.object({ ord: z.number().int(), seq: z.bigint(), recorded_at_us: z.bigint() });

/**
 * Stores executions and folds them into the running aggregates in ONE statement, so an
 * acknowledged execution and its aggregates commit together or not at all, and a re-sent
 * execution (same id, same content) is recognised and counted nothing twice. Ids already stored
 * with other content come back as conflicts. Executions must have distinct ids.
 */
export async function insertExecutions(
  db: CommonQueryMethods,
  records: readonly ExecutionRecord[],
  knownAgents: Set<string> = new Set(),
): Promise<InsertOutcome[]> {
  if (records.length === 0) return [];
  const input = records.map((r, i) => toInputJson(r, i));
  // Agents seen for the first time join the catalog first (idempotent, ordered to avoid
  // deadlocks between concurrent batches); the aggregates reference them. Agents are never
  // removed, so names this process has already registered skip the round trip.
  const names = [...new Set(records.flatMap((r) => r.agents))].filter((name) => !knownAgents.has(name)).sort();
  if (names.length > 0) {
    await db.query(sql.type(z.object({}))`
      INSERT INTO agents (name)
      SELECT name FROM unnest(${sql.array(names, "text")}::text[]) AS n(name)
      ORDER BY name
      ON CONFLICT (name) DO NOTHING`);
    for (const name of names) knownAgents.add(name);
  }
  const inserted = await db.any(sql.type(InsertedRow)`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${sql.jsonb(input)}) AS r(
        ord integer, execution_id text, task_type text, task_description text,
        complexity double precision, agents text[], agent_set text, sorted_agents text[],
        duration_seconds double precision, success boolean, error_message text,
        cpu_percent double precision, memory_mb double precision, metrics jsonb,
        user_satisfaction smallint, started_at_us bigint, finished_at_us bigint,
        recommendation_id text, model_version text, content_hash text)
    ),
    inserted AS (
      INSERT INTO executions (
        execution_id, task_type, task_description, complexity, agents, agent_set,
        duration_seconds, success, error_message, cpu_percent, memory_mb, metrics,
        user_satisfaction, started_at, finished_at, recommendation_id, model_version, content_hash)
      SELECT execution_id, task_type, task_description, complexity, agents, agent_set,
        duration_seconds, success, error_message, cpu_percent, memory_mb, metrics,
        user_satisfaction,
        'epoch'::timestamptz + started_at_us * interval '1 microsecond',
        'epoch'::timestamptz + finished_at_us * interval '1 microsecond',
        recommendation_id, model_version, decode(content_hash, 'hex')
      FROM input
      -- An execution retention deleted is still known: never stored (and counted) again.
      WHERE NOT EXISTS (SELECT 1 FROM retired_executions r WHERE r.execution_id = input.execution_id)
      ORDER BY ord
      ON CONFLICT (execution_id) DO NOTHING
      RETURNING execution_id, seq, recorded_at
    ),
    fresh AS (
      SELECT i.*, x.seq, x.recorded_at, ln(1 + i.duration_seconds) AS log_duration
      FROM input i JOIN inserted x USING (execution_id)
    ),
    task_types AS (
      INSERT INTO task_type_stats AS t (task_type, executions, successes, duration_sum,
        log_duration_sum, log_duration_sq_sum, complexity_sum, last_recorded_at)
      SELECT task_type, count(*), count(*) FILTER (WHERE success), sum(duration_seconds),
        sum(log_duration), sum(log_duration * log_duration), sum(complexity), max(recorded_at)
      FROM fresh GROUP BY task_type ORDER BY task_type
      ON CONFLICT (task_type) DO UPDATE SET
        executions = t.executions + excluded.executions,
        successes = t.successes + excluded.successes,
        duration_sum = t.duration_sum + excluded.duration_sum,
        log_duration_sum = t.log_duration_sum + excluded.log_duration_sum,
        log_duration_sq_sum = t.log_duration_sq_sum + excluded.log_duration_sq_sum,
        complexity_sum = t.complexity_sum + excluded.complexity_sum,
        last_recorded_at = greatest(t.last_recorded_at, excluded.last_recorded_at)
    ),
    per_agent AS (
      INSERT INTO agent_stats AS s (task_type, agent, executions, successes, duration_sum,
        log_duration_sum, log_duration_sq_sum, complexity_sum, last_recorded_at)
      SELECT f.task_type, a.agent, count(*), count(*) FILTER (WHERE f.success),
        sum(f.duration_seconds), sum(f.log_duration), sum(f.log_duration * f.log_duration),
        sum(f.complexity), max(f.recorded_at)
      FROM fresh f CROSS JOIN LATERAL unnest(f.agents) AS a(agent)
      GROUP BY f.task_type, a.agent ORDER BY f.task_type, a.agent
      ON CONFLICT (task_type, agent) DO UPDATE SET
        executions = s.executions + excluded.executions,
        successes = s.successes + excluded.successes,
        duration_sum = s.duration_sum + excluded.duration_sum,
        log_duration_sum = s.log_duration_sum + excluded.log_duration_sum,
        log_duration_sq_sum = s.log_duration_sq_sum + excluded.log_duration_sq_sum,
        complexity_sum = s.complexity_sum + excluded.complexity_sum,
        last_recorded_at = greatest(s.last_recorded_at, excluded.last_recorded_at)
    ),
    per_combination AS (
      INSERT INTO combination_stats AS c (task_type, agent_set, agents, executions, successes,
        duration_sum, log_duration_sum, log_duration_sq_sum, complexity_sum, satisfaction_sum,
        satisfaction_count, last_recorded_at)
      SELECT task_type, agent_set, min(sorted_agents), count(*), count(*) FILTER (WHERE success),
        sum(duration_seconds), sum(log_duration), sum(log_duration * log_duration),
        sum(complexity), coalesce(sum(user_satisfaction), 0), count(user_satisfaction),
        max(recorded_at)
      FROM fresh GROUP BY task_type, agent_set ORDER BY task_type, agent_set
      ON CONFLICT (task_type, agent_set) DO UPDATE SET
        executions = c.executions + excluded.executions,
        successes = c.successes + excluded.successes,
        duration_sum = c.duration_sum + excluded.duration_sum,
        log_duration_sum = c.log_duration_sum + excluded.log_duration_sum,
        log_duration_sq_sum = c.log_duration_sq_sum + excluded.log_duration_sq_sum,
        complexity_sum = c.complexity_sum + excluded.complexity_sum,
        satisfaction_sum = c.satisfaction_sum + excluded.satisfaction_sum,
        satisfaction_count = c.satisfaction_count + excluded.satisfaction_count,
        last_recorded_at = greatest(c.last_recorded_at, excluded.last_recorded_at)
    ),
    per_sequence AS (
      INSERT INTO sequence_stats AS q (task_type, agent_sequence, agent_set, executions, successes,
        duration_sum, last_recorded_at)
      SELECT task_type, agents, min(agent_set), count(*), count(*) FILTER (WHERE success),
        sum(duration_seconds), max(recorded_at)
      FROM fresh GROUP BY task_type, agents ORDER BY task_type, agents
      ON CONFLICT (task_type, agent_sequence) DO UPDATE SET
        executions = q.executions + excluded.executions,
        successes = q.successes + excluded.successes,
        duration_sum = q.duration_sum + excluded.duration_sum,
        last_recorded_at = greatest(q.last_recorded_at, excluded.last_recorded_at)
    ),
    per_error AS (
      INSERT INTO combination_errors AS e (task_type, agent_set, error_message, occurrences)
      SELECT task_type, agent_set, left(error_message, 500), count(*)
      FROM fresh WHERE NOT success AND error_message <> ''
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (task_type, agent_set, error_message) DO UPDATE SET
        occurrences = e.occurrences + excluded.occurrences
    )
    SELECT ord, seq, (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at_us
    FROM fresh`);

  const outcomes: (InsertOutcome | undefined)[] = new Array(records.length);
  for (const row of inserted) {
    const record = records[row.ord];
    if (record) outcomes[row.ord] = { kind: "stored", execution: { ...record, seq: row.seq, recordedAtUs: row.recorded_at_us } };
  }
  const existingIds = records.filter((_, i) => outcomes[i] === undefined).map((r) => r.executionId);
  if (existingIds.length > 0) {
    const stored = new Map((await selectByIds(db, existingIds)).map((row) => [row.execution_id, row]));
    const retiredIds = existingIds.filter((id) => !stored.has(id));
    const retired = new Map((retiredIds.length > 0 ? await selectRetiredByIds(db, retiredIds) : []).map((row) => [row.execution_id, row]));
    records.forEach((record, i) => {
      if (outcomes[i] !== undefined) return;
      const hash = contentHash(record);
      const row = stored.get(record.executionId);
      const gone = retired.get(record.executionId);
      if (row?.content_hash.equals(hash)) {
        outcomes[i] = { kind: "duplicate", execution: toStored(row) };
      } else if (gone?.content_hash.equals(hash)) {
        // Same content as the deleted original, so the re-sent record stands for it.
        outcomes[i] = { kind: "duplicate", execution: { ...record, seq: gone.seq, recordedAtUs: gone.recorded_at_us } };
      } else {
        outcomes[i] = { kind: "conflict", executionId: record.executionId };
      }
    });
  }
  return outcomes as InsertOutcome[];
}

const RetiredRow = z.object({ execution_id: z.string(), content_hash: z.instanceof(Buffer), seq: z.bigint(), recorded_at_us: z.bigint() });

/** What retention left of deleted executions, by id. */
async function selectRetiredByIds(db: CommonQueryMethods, ids: readonly string[]): Promise<readonly z.infer<typeof RetiredRow>[]> {
  return db.any(sql.type(RetiredRow)`
    SELECT execution_id, content_hash, seq, (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at_us
    FROM retired_executions WHERE execution_id = ANY(${sql.array(ids, "text")})`);
}

async function selectByIds(db: CommonQueryMethods, ids: readonly string[]): Promise<readonly ExecutionRow[]> {
  return db.any(sql.type(ExecutionRow)`
    SELECT ${selectExecutionColumns} FROM executions
    WHERE execution_id = ANY(${sql.array(ids, "text")})`);
}

/** Filter of `readExecutionPage`. */
export interface ExecutionFilter {
  taskType?: string;
  recordedAfterUs?: bigint;
  recordedBeforeUs?: bigint;
}

/**
 * One page of stored executions in insertion order, after a sequence number: keyset pagination,
 * so exporting millions of rows holds no long transaction or cursor open.
 */
export async function readExecutionPage(
  db: DatabasePool,
  filter: ExecutionFilter,
  afterSeq: bigint,
  limit: number,
): Promise<StoredExecution[]> {
  const conditions = [sql.fragment`seq > ${afterSeq.toString()}::bigint`];
  if (filter.taskType) conditions.push(sql.fragment`task_type = ${filter.taskType}`);
  if (filter.recordedAfterUs !== undefined) {
    conditions.push(sql.fragment`recorded_at >= 'epoch'::timestamptz + ${filter.recordedAfterUs.toString()}::bigint * interval '1 microsecond'`);
  }
  if (filter.recordedBeforeUs !== undefined) {
    conditions.push(sql.fragment`recorded_at < 'epoch'::timestamptz + ${filter.recordedBeforeUs.toString()}::bigint * interval '1 microsecond'`);
  }
  const rows = await db.any(sql.type(ExecutionRow)`
    SELECT ${selectExecutionColumns} FROM executions
    WHERE ${sql.join(conditions, sql.fragment` AND `)}
    ORDER BY seq LIMIT ${limit}`);
  return rows.map(toStored);
}
