import { type CommonQueryMethods, type DatabasePool, sql } from "slonik";
import { z } from "zod";
import { aggregatedColumns, deltaInsert } from "./execution-aggregates.js";
import {
  contentHash,
  type ExecutionRecord,
  inputRelation,
  insertedColumns,
  type StoredExecution,
  StoredExecutionSchema,
  storedExecutionColumns,
} from "./execution-record.js";

/**
 * What became of one execution handed to `insertExecutions`: stored now (with the sequence number
 * and commit time it was given; the caller holds the record), a duplicate of what is stored, or a
 * conflict with it.
 */
export type InsertOutcome =
  | { kind: "stored"; seq: bigint; recordedAtUs: bigint }
  | { kind: "duplicate"; execution: StoredExecution }
  | { kind: "conflict"; executionId: string };

/** The execution as stored, from its record and the outcome of storing it (not for a conflict). */
export function storedExecution(record: ExecutionRecord, outcome: Exclude<InsertOutcome, { kind: "conflict" }>): StoredExecution {
  return outcome.kind === "stored" ? { ...record, seq: outcome.seq, recordedAtUs: outcome.recordedAtUs } : outcome.execution;
}

const InsertedRow = z.object({ execution_id: z.string(), seq: z.bigint(), recorded_at_us: z.bigint() });

/**
 * Stores executions and their aggregate deltas in ONE statement, so an acknowledged execution
 * and its share of the running aggregates commit together or not at all, and a re-sent
 * execution (same id, same content) is recognised and counted nothing twice. Ids already stored
 * with other content come back as conflicts. An id may occur more than once: its first occurrence
 * is the one stored, the others are duplicates of it (same content) or conflicts. `hashes`, when
 * the caller has them, are the records' content hashes (computed here otherwise).
 */
export async function insertExecutions(
  db: CommonQueryMethods,
  records: readonly ExecutionRecord[],
  knownAgents: Set<string> = new Set(),
  hashes: readonly Buffer[] = records.map(contentHash),
): Promise<InsertOutcome[]> {
  if (records.length === 0) return [];
  // Repeats of an id are settled here, against its first occurrence: one statement cannot
  // insert the same key twice.
  const firstOf = new Map<string, number>();
  const distinct: number[] = [];
  records.forEach((r, i) => {
    if (!firstOf.has(r.executionId)) {
      firstOf.set(r.executionId, i);
      distinct.push(i);
    }
  });
  const unique = distinct.length === records.length ? records : distinct.map((i) => records[i] as ExecutionRecord);
  const uniqueHashes = distinct.length === records.length ? hashes : distinct.map((i) => hashes[i] as Buffer);
  await registerAgents(db, unique, knownAgents);
  const inserted = await db.any(sql.type(InsertedRow)`
    WITH input AS ${inputRelation(unique, uniqueHashes)},
    inserted AS (
      INSERT INTO executions (${insertedColumns})
      SELECT ${insertedColumns} FROM input
      -- An execution retention deleted is still known: never stored (and counted) again.
      WHERE NOT EXISTS (SELECT 1 FROM retired_executions r WHERE r.execution_id = input.execution_id)
      ORDER BY ord
      ON CONFLICT (execution_id) DO NOTHING
      RETURNING execution_id, seq, ${aggregatedColumns}
    ),
    ${deltaInsert}
    SELECT execution_id, seq, (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at_us
    FROM inserted`);

  const outcomes: (InsertOutcome | undefined)[] = new Array(records.length);
  for (const row of inserted) {
    const i = firstOf.get(row.execution_id);
    const record = i === undefined ? undefined : records[i];
    if (i !== undefined && record) outcomes[i] = { kind: "stored", seq: row.seq, recordedAtUs: row.recorded_at_us };
  }
  const existingIds = distinct.filter((i) => outcomes[i] === undefined).map((i) => (records[i] as ExecutionRecord).executionId);
  if (existingIds.length > 0) {
    const stored = new Map((await selectByIds(db, existingIds)).map((row) => [row.executionId, row]));
    const retiredIds = existingIds.filter((id) => !stored.has(id));
    const retired = new Map((retiredIds.length > 0 ? await selectRetiredByIds(db, retiredIds) : []).map((row) => [row.execution_id, row]));
    for (const i of distinct) {
      if (outcomes[i] !== undefined) continue;
      const record = records[i] as ExecutionRecord;
      const hash = hashes[i] as Buffer;
      const row = stored.get(record.executionId);
      const gone = retired.get(record.executionId);
      const { contentHash: storedHash, ...execution } = row ?? { contentHash: undefined };
      if (row && storedHash?.equals(hash)) {
        outcomes[i] = { kind: "duplicate", execution: execution as StoredExecution };
      } else if (gone?.content_hash.equals(hash)) {
        // Same content as the deleted original, so the re-sent record stands for it.
        outcomes[i] = { kind: "duplicate", execution: { ...record, seq: gone.seq, recordedAtUs: gone.recorded_at_us } };
      } else {
        outcomes[i] = { kind: "conflict", executionId: record.executionId };
      }
    }
  }
  // Later occurrences of an id follow the first: the same content is a duplicate of what it
  // became, other content a conflict.
  records.forEach((record, i) => {
    const first = firstOf.get(record.executionId) as number;
    if (first === i) return;
    const outcome = outcomes[first];
    outcomes[i] =
      outcome && outcome.kind !== "conflict" && (hashes[first] as Buffer).equals(hashes[i] as Buffer)
        ? { kind: "duplicate", execution: storedExecution(records[first] as ExecutionRecord, outcome) }
        : { kind: "conflict", executionId: record.executionId };
  });
  return outcomes as InsertOutcome[];
}

/**
 * Agents seen for the first time join the catalog first (idempotent, ordered to avoid deadlocks
 * between concurrent batches); the aggregates reference them. Agents are never removed, so names
 * this process has already registered skip the round trip.
 */
async function registerAgents(db: CommonQueryMethods, records: readonly ExecutionRecord[], knownAgents: Set<string>): Promise<void> {
  const fresh = new Set<string>();
  for (const record of records) {
    for (const name of record.agents) if (!knownAgents.has(name)) fresh.add(name);
  }
  if (fresh.size === 0) return;
  const names = [...fresh].sort();
  await db.query(sql.type(z.object({}))`
    INSERT INTO agents (name)
    SELECT name FROM unnest(${sql.array(names, "text")}::text[]) AS n(name)
    ORDER BY name
    ON CONFLICT (name) DO NOTHING`);
  for (const name of names) knownAgents.add(name);
}

const RetiredRow = z.object({ execution_id: z.string(), content_hash: z.instanceof(Buffer), seq: z.bigint(), recorded_at_us: z.bigint() });

/** What retention left of deleted executions, by id. */
async function selectRetiredByIds(db: CommonQueryMethods, ids: readonly string[]): Promise<readonly z.infer<typeof RetiredRow>[]> {
  return db.any(sql.type(RetiredRow)`
    SELECT execution_id, content_hash, seq, (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at_us
    FROM retired_executions WHERE execution_id = ANY(${sql.array(ids, "text")})`);
}

const StoredWithHash = StoredExecutionSchema.extend({ contentHash: z.instanceof(Buffer) });

async function selectByIds(db: CommonQueryMethods, ids: readonly string[]): Promise<readonly z.infer<typeof StoredWithHash>[]> {
  return db.any(sql.type(StoredWithHash)`
    SELECT ${storedExecutionColumns}, content_hash AS "contentHash" FROM executions
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
): Promise<readonly StoredExecution[]> {
  const conditions = [sql.fragment`seq > ${afterSeq.toString()}::bigint`];
  if (filter.taskType) conditions.push(sql.fragment`task_type = ${filter.taskType}`);
  if (filter.recordedAfterUs !== undefined) {
    conditions.push(
      sql.fragment`recorded_at >= 'epoch'::timestamptz + ${filter.recordedAfterUs.toString()}::bigint * interval '1 microsecond'`,
    );
  }
  if (filter.recordedBeforeUs !== undefined) {
    conditions.push(
      sql.fragment`recorded_at < 'epoch'::timestamptz + ${filter.recordedBeforeUs.toString()}::bigint * interval '1 microsecond'`,
    );
  }
  return db.any(sql.type(StoredExecutionSchema)`
    SELECT ${storedExecutionColumns} FROM executions
    WHERE ${sql.join(conditions, sql.fragment` AND `)}
    ORDER BY seq LIMIT ${limit}`);
}
