import { hash } from "node:crypto";
import { type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";
import { teamKey } from "../domain/team.js";

/** Longest accepted strings, shared by validation and the documentation in the proto. */
export const LIMITS = {
  executionId: 128,
  taskType: 64,
  taskDescription: 8192,
  agentName: 64,
  agents: 64,
  errorMessage: 4096,
  reference: 128,
  metrics: 64,
  metricName: 64,
  maxComplexity: 10,
  maxDurationSeconds: 31_536_000,
  maxCpuPercent: 100_000,
} as const;

/**
 * How one field of the record travels to PostgreSQL: as an element of a parameter array of type
 * `wire`, turned into its column's type by `cast` (an array literal, JSON text, or microseconds
 * since the epoch for a timestamptz column).
 */
interface FieldSpec {
  column: string;
  wire: "text" | "float8" | "bool" | "int2" | "int8";
  cast?: "text[]" | "jsonb" | "micros";
  schema: z.ZodTypeAny;
}

/**
 * THE execution row, defined once: every field of the record in content-hash order, with its
 * column, how it is sent, and its type. The record type, the row schema reads are checked
 * against, the SELECT list, the INSERT list and the content hash are all derived from it.
 */
const FIELDS = {
  executionId: { column: "execution_id", wire: "text", schema: z.string() },
  taskType: { column: "task_type", wire: "text", schema: z.string() },
  taskDescription: { column: "task_description", wire: "text", schema: z.string() },
  complexity: { column: "complexity", wire: "float8", schema: z.number() },
  agents: { column: "agents", wire: "text", cast: "text[]", schema: z.array(z.string()) },
  durationSeconds: { column: "duration_seconds", wire: "float8", schema: z.number() },
  success: { column: "success", wire: "bool", schema: z.boolean() },
  errorMessage: { column: "error_message", wire: "text", schema: z.string() },
  cpuPercent: { column: "cpu_percent", wire: "float8", schema: z.number().nullable() },
  memoryMb: { column: "memory_mb", wire: "float8", schema: z.number().nullable() },
  metrics: { column: "metrics", wire: "text", cast: "jsonb", schema: z.record(z.string(), z.number()) },
  userSatisfaction: { column: "user_satisfaction", wire: "int2", schema: z.number().int().nullable() },
  startedAtUs: { column: "started_at", wire: "int8", cast: "micros", schema: z.bigint().nullable() },
  finishedAtUs: { column: "finished_at", wire: "int8", cast: "micros", schema: z.bigint().nullable() },
  recommendationId: { column: "recommendation_id", wire: "text", schema: z.string().nullable() },
  modelVersion: { column: "model_version", wire: "text", schema: z.string().nullable() },
} as const satisfies Record<string, FieldSpec>;

type Fields = typeof FIELDS;
type FieldKey = keyof Fields;
const KEYS = Object.keys(FIELDS) as FieldKey[];

/**
 * A validated, normalised execution: the exact shape the store writes and reads back. Timestamps
 * are microseconds since the Unix epoch, PostgreSQL's own precision, so a stored execution reads
 * back (and exports, and re-imports) unchanged.
 */
export const ExecutionRecordSchema = z.object(
  Object.fromEntries(KEYS.map((k) => [k, FIELDS[k].schema])) as { [K in FieldKey]: Fields[K]["schema"] },
);

export type ExecutionRecord = z.infer<typeof ExecutionRecordSchema>;

/** A record as stored: with its commit time (µs) and insertion sequence. */
export const StoredExecutionSchema = ExecutionRecordSchema.extend({ seq: z.bigint(), recordedAtUs: z.bigint() });

export type StoredExecution = z.infer<typeof StoredExecutionSchema>;

/**
 * The strings in UTF-16 code unit order (Array.prototype.sort's default), as a new array. An
 * insertion sort: metric maps are a few entries, and V8's sort allocates about a kilobyte of
 * bookkeeping per call, which for every row of a bulk upload added up (see domain/team.ts).
 */
function sortedCopy(items: readonly string[]): string[] {
  const out = items.slice();
  for (let i = 1; i < out.length; i++) {
    const item = out[i] as string;
    let j = i - 1;
    for (; j >= 0 && (out[j] as string) > item; j--) out[j + 1] = out[j] as string;
    out[j + 1] = item;
  }
  return out;
}

/** The agent_set column of a team: its teamKey (domain/team.ts), under the column's name. */
export const agentSetKey = teamKey;

const micros = (column: string) => sql.fragment`(extract(epoch FROM ${sql.identifier([column])}) * 1000000)::bigint`;

/** The SELECT list that reads a row of `executions` as a StoredExecution (keys as aliases). */
export const storedExecutionColumns = sql.join(
  [
    ...KEYS.map((k) => {
      const f: FieldSpec = FIELDS[k];
      const value = f.cast === "micros" ? micros(f.column) : sql.fragment`${sql.identifier([f.column])}`;
      return sql.fragment`${value} AS ${sql.identifier([k])}`;
    }),
    sql.fragment`seq`,
    sql.fragment`${micros("recorded_at")} AS "recordedAtUs"`,
  ],
  sql.fragment`, `,
);

/**
 * SHA-256 of the canonical content of a record: equal for a faithful re-send (so it is
 * acknowledged as a duplicate), different for any change of content under the same id. The
 * canonical form (a JSON array of the fields in FIELDS order, metrics as sorted entries, bigints
 * as strings) is what every stored hash was computed from: changing it would turn re-sends of
 * stored executions into conflicts.
 */
export function contentHash(record: ExecutionRecord): Buffer {
  const canonical = KEYS.map((k) => {
    const value = record[k];
    // Names in UTF-16 code unit order (sort's default for strings), each with its value.
    if (k === "metrics") return sortedCopy(Object.keys(record.metrics)).map((name) => [name, record.metrics[name]]);
    return typeof value === "bigint" ? value.toString() : value;
  });
  // The one-shot hash() costs about half of createHash()…digest() for inputs this small.
  return hash("sha256", JSON.stringify(canonical), "buffer");
}

/** An element of an array literal: quoted, with `"` and `\\` escaped (most values need no escaping). */
function quotedElement(text: string): string {
  return NEEDS_ESCAPE.test(text) ? `"${text.replace(NEEDS_ESCAPE_ALL, "\\$&")}"` : `"${text}"`;
}
const NEEDS_ESCAPE = /["\\]/;
const NEEDS_ESCAPE_ALL = /["\\]/g;

/** A text[] literal of the agent names, each quoted, so any name survives the round trip. */
function arrayLiteral(items: readonly string[]): string {
  let out = "{";
  for (let i = 0; i < items.length; i++) out += (i > 0 ? "," : "") + quotedElement(items[i] as string);
  return `${out}}`;
}

/** Field `k` of a record as an element of its column's array literal (text, numbers, t/f, NULL). */
function wireElement(k: FieldKey, record: ExecutionRecord): string {
  const value = record[k];
  if (value === null) return "NULL";
  switch (typeof value) {
    case "string":
      return quotedElement(value);
    case "number":
    case "bigint":
      return String(value);
    case "boolean":
      return value ? "t" : "f";
    default:
      // agents, metrics: their own literal (text[] or JSON), sent as text and cast in SQL.
      return quotedElement(k === "agents" ? arrayLiteral(record.agents) : JSON.stringify(record.metrics));
  }
}

/**
 * One column of the batch as a PostgreSQL array literal, built here in one pass: handing the
 * driver a JS array instead costs several times more (it escapes every element with its own
 * regular expression and allocates per element), and this runs for every row of a bulk upload.
 */
function columnLiteral(count: number, element: (i: number) => string): string {
  const parts = new Array<string>(count);
  for (let i = 0; i < count; i++) parts[i] = element(i);
  return `{${parts.join(",")}}`;
}

/**
 * The records as one relation, `input`, built from one array parameter per column (unnested
 * together): ord (position in `records`), every record column in its column type, agent_set and
 * content_hash (from `hashes`, the records' content hashes). Arrays of scalars cost PostgreSQL far
 * less to take apart than one JSON document; each array travels as one text parameter.
 */
export function inputRelation(records: readonly ExecutionRecord[], hashes: readonly Buffer[]): FragmentSqlToken {
  const n = records.length;
  const columns: FragmentSqlToken[] = [];
  const names: FragmentSqlToken[] = [];
  const selected: FragmentSqlToken[] = [];
  const add = (name: string, wire: FieldSpec["wire"], literal: string, select?: FragmentSqlToken) => {
    columns.push(sql.fragment`${literal}::${sql.identifier([wire])}[]`);
    const id = sql.fragment`${sql.identifier([name])}`;
    names.push(id);
    selected.push(select ?? id);
  };
  add("ord", "int8", columnLiteral(n, String));
  for (const k of KEYS) {
    const f: FieldSpec = FIELDS[k];
    const id = sql.identifier([f.column]);
    add(
      f.column,
      f.wire,
      columnLiteral(n, (i) => wireElement(k, records[i] as ExecutionRecord)),
      f.cast === "micros"
        ? sql.fragment`'epoch'::timestamptz + ${id} * interval '1 microsecond' AS ${id}`
        : f.cast === "text[]"
          ? sql.fragment`${id}::text[] AS ${id}`
          : f.cast === "jsonb"
            ? sql.fragment`${id}::jsonb AS ${id}`
            : undefined,
    );
  }
  add(
    "agent_set",
    "text",
    columnLiteral(n, (i) => quotedElement(agentSetKey((records[i] as ExecutionRecord).agents))),
  );
  // decode() turns the hex back into bytes inside PostgreSQL, once per row.
  add(
    "content_hash",
    "text",
    columnLiteral(n, (i) => (hashes[i] as Buffer).toString("hex")),
    sql.fragment`decode(content_hash, 'hex') AS content_hash`,
  );
  return sql.fragment`(
    SELECT ${sql.join(selected, sql.fragment`, `)}
    FROM unnest(${sql.join(columns, sql.fragment`, `)}) AS raw(${sql.join(names, sql.fragment`, `)})
  )`;
}

/** The columns of `executions` an insert writes (seq and recorded_at take their defaults). */
export const insertedColumns = sql.join(
  [...KEYS.map((k) => sql.identifier([FIELDS[k].column])), sql.identifier(["agent_set"]), sql.identifier(["content_hash"])],
  sql.fragment`, `,
);
