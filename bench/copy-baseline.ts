import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { migrate } from "../src/store/migrate.js";
import type { BenchPostgres } from "./database.js";
import { median } from "./stats.js";
import type { WorldExecution } from "./world.js";

/** A target table for the raw COPY: the columns of `executions`, with more or less of its indexing. */
interface CopyTarget {
  key: "no_indexes" | "primary_key" | "all_indexes";
  label: string;
  /** DDL creating table `name`; `executions` exists (the migrations ran). */
  ddl: (name: string) => string;
}

const TARGETS: readonly CopyTarget[] = [
  {
    key: "no_indexes",
    label: "COPY, table without indexes",
    ddl: (t) => `CREATE TABLE ${t} (LIKE executions INCLUDING DEFAULTS INCLUDING IDENTITY)`,
  },
  {
    key: "primary_key",
    label: "COPY, table with executions' primary key",
    ddl: (t) => `CREATE TABLE ${t} (LIKE executions INCLUDING DEFAULTS INCLUDING IDENTITY, PRIMARY KEY (execution_id))`,
  },
  {
    key: "all_indexes",
    label: "COPY, all of executions' indexes and checks",
    ddl: (t) => `CREATE TABLE ${t} (LIKE executions INCLUDING ALL)`,
  },
];

/** What encoding the rows as CSV costs the client (timed once, outside the COPY figures). */
export interface CsvEncoding {
  rows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
}

/** Figures of one COPY target over all rounds. */
export interface CopyFigures {
  key: CopyTarget["key"];
  label: string;
  rows: number;
  roundRowsPerSecond: number[];
  rowsPerSecond: number;
  medianSeconds: number;
}

/** The columns RecordExecution writes (seq and recorded_at take their defaults, as there). */
const COLUMNS = [
  "execution_id",
  "task_type",
  "task_description",
  "complexity",
  "agents",
  "agent_set",
  "duration_seconds",
  "success",
  "error_message",
  "cpu_percent",
  "memory_mb",
  "metrics",
  "user_satisfaction",
  "started_at",
  "finished_at",
  "content_hash",
].join(", ");

/** A CSV field that is text: always quoted, because an unquoted empty field means NULL. */
function quoted(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/**
 * One execution as a CSV line, with the same derived values the service computes (combination
 * key, SHA-256 content hash over a canonical JSON), so the client does comparable work.
 */
function csvLine(e: WorldExecution): string {
  const sorted = [...e.agents].sort();
  const metrics = JSON.stringify(e.metrics);
  const hash = createHash("sha256")
    .update(
      JSON.stringify([
        e.executionId,
        e.taskType,
        e.taskDescription,
        e.complexity,
        e.agents,
        e.durationSeconds,
        e.success,
        e.errorMessage,
        e.cpuPercent,
        e.memoryMb,
        Object.entries(e.metrics).sort(),
        e.userSatisfaction ?? null,
        e.startedAtMs,
        e.finishedAtMs,
      ]),
    )
    .digest("hex");
  return `${[
    quoted(e.executionId),
    quoted(e.taskType),
    quoted(e.taskDescription),
    e.complexity,
    quoted(`{${e.agents.map((a) => `"${a.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`),
    quoted(sorted.join(",")),
    e.durationSeconds,
    e.success ? "t" : "f",
    quoted(e.errorMessage),
    e.cpuPercent,
    e.memoryMb,
    quoted(metrics),
    e.userSatisfaction ?? "",
    new Date(e.startedAtMs).toISOString(),
    new Date(e.finishedAtMs).toISOString(),
    `\\x${hash}`,
  ].join(",")}\n`;
}

/**
 * CSV in chunks of 1,000 lines, each encoded when the COPY stream asks for it: the client encodes
 * the next chunk while PostgreSQL takes the last, as the stream's client builds and encodes each
 * message when the call asks for it.
 */
function* csvChunks(executions: readonly WorldExecution[]): Generator<Buffer> {
  for (let i = 0; i < executions.length; i += 1_000) {
    yield Buffer.from(
      executions
        .slice(i, i + 1_000)
        .map(csvLine)
        .join(""),
    );
  }
}

/**
 * Baseline B: the same rows through `COPY ... FROM STDIN (FORMAT csv)` on one connection, in one
 * transaction: the fastest way PostgreSQL takes them, with no aggregates and no per-row outcome.
 * Encoding the CSV is inside the clock, as encoding the messages is in the stream's figure (both
 * sides timed the same way); what the encoding alone costs is measured once and reported apart.
 * Targets alternate within each round, on one fresh database for the section; each round gets
 * new tables, so none starts with rows.
 */
export async function measureCopy(
  postgres: BenchPostgres,
  executions: readonly WorldExecution[],
  rounds: number,
): Promise<{ encoding: CsvEncoding; targets: CopyFigures[] }> {
  const encodeStarted = performance.now();
  const chunks = [...csvChunks(executions)];
  const encodeSeconds = (performance.now() - encodeStarted) / 1_000;
  const encoding = {
    rows: executions.length,
    bytes: chunks.reduce((sum, c) => sum + c.length, 0),
    seconds: encodeSeconds,
    rowsPerSecond: executions.length / encodeSeconds,
  };
  const url = await postgres.freshDatabase("copy");
  const seconds = new Map<CopyTarget["key"], number[]>(TARGETS.map((t) => [t.key, []]));
  try {
    await migrate(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (let round = 0; round < rounds; round++) {
        for (const target of TARGETS) {
          const table = `copy_${target.key}_${round}`;
          await client.query(target.ddl(table));
          const started = performance.now();
          await pipeline(
            Readable.from(csvChunks(executions)),
            client.query(copyFrom(`COPY ${table} (${COLUMNS}) FROM STDIN WITH (FORMAT csv)`)),
          );
          seconds.get(target.key)?.push((performance.now() - started) / 1_000);
          const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
          if (Number(rows[0]?.n) !== executions.length) {
            throw new Error(`SANITY CHECK FAILED in COPY ${target.key}: ${rows[0]?.n} rows in ${table}, ${executions.length} sent`);
          }
          await client.query(`DROP TABLE ${table}`);
        }
      }
    } finally {
      await client.end();
    }
  } finally {
    await postgres.dropDatabase(url);
  }
  const targets = TARGETS.map((target) => {
    const s = seconds.get(target.key) ?? [];
    const medianSeconds = median(s);
    return {
      key: target.key,
      label: target.label,
      rows: executions.length,
      roundRowsPerSecond: s.map((x) => executions.length / x),
      rowsPerSecond: executions.length / medianSeconds,
      medianSeconds,
    };
  });
  return { encoding, targets };
}
