import { createHash } from "node:crypto";
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { type Finding, INSIGHT_KINDS, type InsightKind, type RecentExecution } from "../domain/insight.js";

/** The channel on which a committed batch of insight events is announced to every replica. */
export const INSIGHTS_CHANNEL = "agent_learning_insights";

const InsightColumns = {
  insight_id: z.string(),
  type: z.enum(INSIGHT_KINDS),
  status: z.enum(["active", "retired"]),
  task_type: z.string(),
  agents: z.array(z.string()),
  confidence: z.number(),
  confidence_method: z.string(),
  sample_size: z.bigint(),
  description: z.string(),
  data: z.record(z.string(), z.unknown()),
  created_at_us: z.bigint(),
  updated_at_us: z.bigint(),
};

/** An insight as stored (current state, or one version of it in the feed when `seq` is set). */
export const InsightRow = z.object({ ...InsightColumns, seq: z.bigint() });
export type InsightRow = z.infer<typeof InsightRow>;

const StoredInsight = z.object({ ...InsightColumns, finding_key: z.string(), last_seq: z.bigint() });
type StoredInsight = z.infer<typeof StoredInsight>;

/** Stable id of a finding: the same on every replica and every run. */
export function insightIdOf(findingKey: string): string {
  return `ins_${createHash("sha256").update(findingKey).digest("hex").slice(0, 20)}`;
}

const insightSelect = sql.fragment`
  insight_id, type, status, task_type, agents, confidence, confidence_method, sample_size,
  description, data,
  (extract(epoch FROM created_at) * 1000000)::bigint AS created_at_us,
  (extract(epoch FROM updated_at) * 1000000)::bigint AS updated_at_us`;

/** Whether a finding differs enough from the stored insight to publish a new version. */
function changed(stored: StoredInsight, finding: Finding): boolean {
  return (
    stored.status !== "active" ||
    Math.abs(stored.confidence - finding.confidence) >= 0.01 ||
    stored.description !== finding.description ||
    Number(stored.sample_size) !== finding.sampleSize
  );
}

/** Outcome of applying one analysis run's findings. */
export interface ApplyResult {
  created: number;
  updated: number;
  retired: number;
  lastSeq: bigint | null;
}

/**
 * Makes the stored insights of the analysed task types match the findings: new ones are created,
 * ones that still hold are updated only when their figures moved, and active ones no longer found
 * are retired. Each change appends a version to the feed, and one NOTIFY (delivered at commit)
 * tells every replica's subscribers to read it. Call inside a transaction holding the analysis lock.
 */
export async function applyFindings(
  tx: CommonQueryMethods,
  taskTypes: readonly string[],
  findings: readonly Finding[],
): Promise<ApplyResult> {
  const stored = await tx.any(sql.type(StoredInsight)`
    SELECT ${insightSelect}, finding_key, 0::bigint AS last_seq FROM insights
    WHERE task_type = ANY(${sql.array([...taskTypes], "text")})`);
  const byKey = new Map(stored.map((row) => [row.finding_key, row]));
  const result: ApplyResult = { created: 0, updated: 0, retired: 0, lastSeq: null };
  const touched: string[] = [];
  const seen = new Set<string>();

  for (const finding of findings) {
    seen.add(finding.key);
    const previous = byKey.get(finding.key);
    if (previous && !changed(previous, finding)) continue;
    const id = insightIdOf(finding.key);
    await tx.query(sql.type(z.object({}))`
      INSERT INTO insights (insight_id, finding_key, type, status, task_type, agents, confidence,
        confidence_method, sample_size, description, data)
      VALUES (${id}, ${finding.key}, ${finding.type}, 'active', ${finding.taskType},
        ${sql.array(finding.agents, "text")}, ${finding.confidence}, ${finding.confidenceMethod},
        ${finding.sampleSize}, ${finding.description}, ${sql.jsonb(finding.data as never)})
      ON CONFLICT (insight_id) DO UPDATE SET status = 'active', agents = excluded.agents,
        confidence = excluded.confidence, confidence_method = excluded.confidence_method,
        sample_size = excluded.sample_size, description = excluded.description,
        data = excluded.data, updated_at = clock_timestamp()`);
    touched.push(id);
    if (previous) result.updated++;
    else result.created++;
  }
  for (const row of stored) {
    if (row.status !== "active" || seen.has(row.finding_key)) continue;
    await tx.query(sql.type(z.object({}))`
      UPDATE insights SET status = 'retired', updated_at = clock_timestamp() WHERE insight_id = ${row.insight_id}`);
    touched.push(row.insight_id);
    result.retired++;
  }
  if (touched.length > 0) {
    const last = await tx.one(sql.type(z.object({ seq: z.bigint().nullable() }))`
      WITH appended AS (
        INSERT INTO insight_events (insight_id, type, status, task_type, agents, confidence,
          confidence_method, sample_size, description, data, created_at, updated_at)
        SELECT insight_id, type, status, task_type, agents, confidence, confidence_method,
          sample_size, description, data, created_at, updated_at
        FROM insights WHERE insight_id = ANY(${sql.array(touched, "text")})
        ORDER BY updated_at, insight_id
        RETURNING seq
      )
      SELECT max(seq) AS seq FROM appended`);
    result.lastSeq = last.seq;
    await tx.query(sql.type(z.object({}))`SELECT pg_notify(${INSIGHTS_CHANNEL}, ${String(last.seq)})`);
  }
  return result;
}

/** Filters shared by ListInsights and StreamInsights. */
export interface InsightFilter {
  types: InsightKind[];
  taskTypes: string[];
  minConfidence: number;
}

function filterConditions(filter: InsightFilter) {
  const conditions = [sql.fragment`confidence >= ${filter.minConfidence}`];
  if (filter.types.length > 0) conditions.push(sql.fragment`type = ANY(${sql.array(filter.types, "text")})`);
  if (filter.taskTypes.length > 0) conditions.push(sql.fragment`task_type = ANY(${sql.array(filter.taskTypes, "text")})`);
  return conditions;
}

/** Feed versions after `afterSeq`, oldest first, matching the filter. */
export async function readInsightEvents(
  db: CommonQueryMethods,
  afterSeq: bigint,
  filter: InsightFilter,
  limit: number,
): Promise<readonly InsightRow[]> {
  const conditions = [sql.fragment`seq > ${afterSeq.toString()}::bigint`, ...filterConditions(filter)];
  return db.any(sql.type(InsightRow)`
    SELECT seq, ${insightSelect} FROM insight_events
    WHERE ${sql.join(conditions, sql.fragment` AND `)}
    ORDER BY seq LIMIT ${limit}`);
}

/** The newest position of the feed (0 when empty). */
export async function latestInsightSeq(db: CommonQueryMethods): Promise<bigint> {
  const row = await db.one(sql.type(z.object({ seq: z.bigint() }))`SELECT coalesce(max(seq), 0)::bigint AS seq FROM insight_events`);
  return row.seq;
}

/** A page of current insights, newest first; `after` is the last row of the previous page. */
export async function listInsights(
  db: CommonQueryMethods,
  filter: InsightFilter & { status: "active" | "retired" | "any" },
  after: { updatedAtUs: bigint; insightId: string } | undefined,
  limit: number,
): Promise<readonly InsightRow[]> {
  const conditions = filterConditions(filter);
  if (filter.status !== "any") conditions.push(sql.fragment`status = ${filter.status}`);
  if (after) {
    conditions.push(
      sql.fragment`(updated_at, insight_id) < ('epoch'::timestamptz + ${after.updatedAtUs.toString()}::bigint * interval '1 microsecond', ${after.insightId})`,
    );
  }
  return db.any(sql.type(InsightRow)`
    SELECT coalesce((SELECT max(seq) FROM insight_events e WHERE e.insight_id = insights.insight_id), 0)::bigint AS seq,
      ${insightSelect}
    FROM insights
    WHERE ${sql.join(conditions, sql.fragment` AND `)}
    ORDER BY updated_at DESC, insight_id DESC LIMIT ${limit}`);
}

/** Counts of active insights. */
export async function countActiveInsights(db: CommonQueryMethods): Promise<bigint> {
  const row = await db.one(sql.type(z.object({ n: z.bigint() }))`SELECT count(*) AS n FROM insights WHERE status = 'active'`);
  return row.n;
}

const RecentRow = z.object({ execution_id: z.string(), success: z.boolean(), log_duration: z.number() });

/** The newest executions of a task type, oldest first: a bounded index scan, for recent-window rules. */
export async function readRecentExecutions(db: CommonQueryMethods, taskType: string, limit: number): Promise<RecentExecution[]> {
  const rows = await db.any(sql.type(RecentRow)`
    SELECT execution_id, success, ln(1 + duration_seconds) AS log_duration FROM (
      SELECT execution_id, success, duration_seconds, seq FROM executions
      WHERE task_type = ${taskType} ORDER BY seq DESC LIMIT ${limit}) recent
    ORDER BY seq`);
  return rows.map((r) => ({ executionId: r.execution_id, success: r.success, logDuration: r.log_duration }));
}
