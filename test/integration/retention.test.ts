import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { type DatabasePool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { type RetentionOutcome, runRetention } from "../../src/service/retention-run.js";
import { createStorePool } from "../../src/store/pool.js";
import { RETENTION_LOCK_KEY } from "../../src/store/retention.js";
import { makeExecution } from "../support/executions.js";
import { QUIET_MODELS } from "../support/model-fixtures.js";
import { requireCli, runCli } from "../support/run-cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordInBulk, recordWorldHistory, world, worldExecutions } from "../support/world-history.js";

// The compiled CLI, from the run's one build (a whole build may take minutes on a loaded machine).
beforeAll(requireCli, 300_000);

// Retention deletes raw executions and keeps the aggregates, so what was learned survives the
// deletion: counts, analysis and predictions go on; only the raw history is shorter.

const Seqs = z.object({ seq: z.bigint() });
const Count = z.object({ n: z.bigint() });
const Range = z.object({ oldest_us: z.bigint().nullable(), newest_us: z.bigint().nullable() });

/** A validating pool on the server's database, for checks in SQL and for running retention directly. */
async function poolOn(server: TestServer): Promise<DatabasePool> {
  return createStorePool(server.databaseUrl, { maximumPoolSize: 4 });
}

async function storedCount(db: DatabasePool): Promise<bigint> {
  return (await db.one(sql.type(Count)`SELECT count(*) AS n FROM executions`)).n;
}

async function newestSeqs(db: DatabasePool, limit: number): Promise<bigint[]> {
  const rows = await db.any(sql.type(Seqs)`SELECT seq FROM executions ORDER BY seq DESC LIMIT ${limit}`);
  return rows.map((r) => r.seq).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function allSeqs(db: DatabasePool): Promise<bigint[]> {
  const rows = await db.any(sql.type(Seqs)`SELECT seq FROM executions ORDER BY seq`);
  return rows.map((r) => r.seq);
}

function iso(us: bigint | null): string | null {
  return us === null ? null : new Date(Number(us / 1000n)).toISOString();
}

/** The JSON document `agent-learning retention --json` printed, failing loudly on a failed run. */
async function retentionCli(args: string[], server: TestServer, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const run = await runCli(["retention", "--json", ...args], { DATABASE_URL: server.databaseUrl, LOG_LEVEL: "warn", ...env });
  if (run.code !== 0) throw new Error(`retention exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe("RETENTION_MAX_ROWS=100 after 1,000 executions", () => {
  const TOTAL = 1_000;
  const KEEP = 100;
  let server: TestServer;
  let db: DatabasePool;
  let newest: bigint[];
  let dryRun: Record<string, unknown>;
  let expectedRange: { oldest: string | null; newest: string | null };
  let countAfterDryRun: bigint;
  let run: Record<string, unknown>;
  let history: Execution[];

  beforeAll(async () => {
    server = await startTestServer({ config: QUIET_MODELS });
    db = await poolOn(server);
    history = await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: TOTAL, seed: 9_001 });
    await server.admin.analyze({});
    newest = await newestSeqs(db, KEEP);
    const range = await db.one(sql.type(Range)`
      SELECT (extract(epoch FROM min(recorded_at)) * 1000000)::bigint AS oldest_us,
        (extract(epoch FROM max(recorded_at)) * 1000000)::bigint AS newest_us
      FROM (SELECT recorded_at FROM executions ORDER BY seq LIMIT ${TOTAL - KEEP}) doomed`);
    expectedRange = { oldest: iso(range.oldest_us), newest: iso(range.newest_us) };
    dryRun = await retentionCli(["--dry-run"], server, { RETENTION_MAX_ROWS: String(KEEP) });
    countAfterDryRun = await storedCount(db);
    run = await retentionCli([], server, { RETENTION_MAX_ROWS: String(KEEP), RETENTION_BATCH_SIZE: "250" });
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it("dry-run reports the 900 executions that would go and when they were recorded, deleting nothing", () => {
    expect(dryRun).toMatchObject({
      dryRun: true,
      executions: TOTAL - KEEP,
      oldestRecordedAt: expectedRange.oldest,
      newestRecordedAt: expectedRange.newest,
    });
    expect(countAfterDryRun).toBe(BigInt(TOTAL));
  });

  it("deletes 900 executions in batches of RETENTION_BATCH_SIZE", () => {
    expect(run).toMatchObject({ ran: true, dryRun: false, executions: TOTAL - KEEP, batches: 4, interrupted: false });
    expect(run.oldestRecordedAt).toBe(expectedRange.oldest);
    expect(run.newestRecordedAt).toBe(expectedRange.newest);
  });

  it("leaves exactly the 100 newest executions", async () => {
    expect(await allSeqs(db)).toEqual(newest);
  });

  it("still counts all 1,000 executions in GetStatus, from the aggregates", async () => {
    const status = await server.admin.getStatus({});
    expect(status.executionCount).toBe(BigInt(TOTAL));
  });

  it("still analyses, over the aggregates of all 1,000", async () => {
    const analysis = await server.admin.analyze({});
    expect(analysis.executionCount).toBe(BigInt(TOTAL));
  });

  it("still predicts from what was learned before the deletion", async () => {
    const prediction = await server.learning.predictAgents({ taskType: world.taskTypes[0], complexity: 2, explorationRate: 0 });
    expect(prediction.coldStart).toBe(false);
    expect(prediction.recommendations.length).toBeGreaterThan(0);
  });

  it("exports only the executions that remain", async () => {
    let exported = 0;
    for await (const row of server.admin.exportData({})) if (row.execution) exported += 1;
    expect(exported).toBe(KEEP);
  });

  it("finds nothing more to delete when run again", async () => {
    const again = await retentionCli([], server, { RETENTION_MAX_ROWS: String(KEEP) });
    expect(again).toMatchObject({ ran: true, executions: 0, batches: 0 });
  });

  it("answers a re-send of deleted executions as duplicates, one by one and in bulk, counting nothing twice", async () => {
    const deleted = history.slice(0, TOTAL - KEEP);
    const first = deleted[0];
    if (!first) throw new Error("no history");

    const one = await server.learning.recordExecution({ execution: first });
    const { result } = await server.learning.recordExecutions(
      (async function* () {
        yield { executions: deleted };
      })(),
    );

    expect(one.duplicate).toBe(true);
    expect(one.execution?.executionId).toBe(first.executionId);
    expect(result).toMatchObject({ storedCount: 0, receivedCount: TOTAL - KEEP, rejected: [] });
    expect(result?.duplicateIds).toHaveLength(TOTAL - KEEP);
    expect(await storedCount(db)).toBe(BigInt(KEEP));
    expect((await server.admin.getStatus({})).executionCount).toBe(BigInt(TOTAL));
  });

  it("refuses a deleted execution's id with other content as ALREADY_EXISTS", async () => {
    const first = history[0];
    if (!first) throw new Error("no history");

    const error = await server.learning.recordExecution({ execution: { ...first, durationSeconds: first.durationSeconds + 1 } }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );

    expect(error?.code).toBe(Code.AlreadyExists);
    expect(await storedCount(db)).toBe(BigInt(KEEP));
  });
});

describe("RETENTION_DAYS", () => {
  let server: TestServer;
  let db: DatabasePool;
  let oldIds: string[];
  let youngIds: string[];

  beforeAll(async () => {
    server = await startTestServer({ config: QUIET_MODELS });
    db = await poolOn(server);
    const executions = await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: 300, seed: 9_002 });
    // Age every third execution by 40 days and every seventh (not already aged) by 20: scattered
    // through the history, not one contiguous block.
    oldIds = executions.filter((_, i) => i % 3 === 0).map((e) => e.executionId);
    youngIds = executions.filter((_, i) => i % 3 !== 0 && i % 7 === 0).map((e) => e.executionId);
    await db.query(sql.type(z.object({}))`
      UPDATE executions SET recorded_at = recorded_at - interval '40 days' WHERE execution_id = ANY(${sql.array(oldIds, "text")})`);
    await db.query(sql.type(z.object({}))`
      UPDATE executions SET recorded_at = recorded_at - interval '20 days' WHERE execution_id = ANY(${sql.array(youngIds, "text")})`);
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it("dry-run counts only the executions recorded before the cutoff", async () => {
    const dry = await retentionCli(["--dry-run"], server, { RETENTION_DAYS: "30" });
    expect(dry).toMatchObject({ dryRun: true, executions: oldIds.length });
    expect(await storedCount(db)).toBe(300n);
  });

  it("deletes the executions recorded more than 30 days ago and nothing else", async () => {
    const run = await retentionCli([], server, { RETENTION_DAYS: "30", RETENTION_BATCH_SIZE: "25" });
    expect(run).toMatchObject({ ran: true, executions: oldIds.length, batches: Math.ceil(oldIds.length / 25) });
    const remaining = await db.any(sql.type(z.object({ execution_id: z.string() }))`SELECT execution_id FROM executions`);
    const ids = new Set(remaining.map((r) => r.execution_id));
    expect(ids.size).toBe(300 - oldIds.length);
    for (const id of oldIds) expect(ids.has(id)).toBe(false);
    for (const id of youngIds) expect(ids.has(id)).toBe(true);
    expect((await server.admin.getStatus({})).executionCount).toBe(300n);
  });

  it("takes --days over RETENTION_DAYS", async () => {
    const dry = await retentionCli(["--dry-run", "--days", "10"], server, { RETENTION_DAYS: "30" });
    expect(dry).toMatchObject({ executions: youngIds.length, maxAgeDays: 10 });
  });

  it("refuses to run with no retention limit configured", async () => {
    const run = await runCli(["retention"], { DATABASE_URL: server.databaseUrl });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("no retention limit");
  });
});

describe("a large retention run during ingestion", () => {
  const BACKLOG = 5_000;
  let server: TestServer;
  let db: DatabasePool;

  beforeAll(async () => {
    server = await startTestServer({ config: QUIET_MODELS });
    db = await poolOn(server);
    await recordInBulk(server.learning, worldExecutions({ taskTypes: world.taskTypes, count: BACKLOG, seed: 9_003 }));
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it("deletes the backlog in many batches while concurrent recording completes without errors", async () => {
    const backlogSeqs = await newestSeqs(db, 100);
    let finished = false;
    const retention = runRetention(db, { maxRows: 100 }, { batchSize: 100, pauseMs: 20 }).finally(() => {
      finished = true;
    });
    // Recording starts once the plan is fixed (the first batch is gone), so which executions the
    // run deletes does not depend on who wins the start.
    while ((await storedCount(db)) === BigInt(BACKLOG)) await sleep(5);
    const recorded: string[] = [];
    let recordedWhileRunning = 0;
    let slowestMs = 0;
    const writers = Array.from({ length: 8 }, async (_, writer) => {
      for (let n = 0; !finished || n < 5; n++) {
        const execution = makeExecution({ taskType: world.taskTypes[writer % world.taskTypes.length], executionId: `live-${writer}-${n}` });
        const started = performance.now();
        await server.learning.recordExecution({ execution });
        slowestMs = Math.max(slowestMs, performance.now() - started);
        recorded.push(execution.executionId);
        if (!finished) recordedWhileRunning += 1;
      }
    });
    const bulk = recordInBulk(
      server.learning,
      worldExecutions({ taskTypes: world.taskTypes, count: 1_000, seed: 9_004, idPrefix: "live-bulk" }),
    );
    const [outcome] = (await Promise.all([retention, bulk, ...writers])) as [RetentionOutcome, ...unknown[]];

    expect(outcome).toMatchObject({ ran: true, executions: BigInt(BACKLOG - 100), interrupted: false });
    expect(outcome.batches).toBe(Math.ceil((BACKLOG - 100) / 100));
    // Recording went on while the run deleted, and no call waited long.
    expect(recordedWhileRunning).toBeGreaterThanOrEqual(8);
    expect(slowestMs).toBeLessThan(5_000);
    // Everything recorded during the run is still there, and so are the 100 newest of the backlog.
    const ids = new Set(
      (await db.any(sql.type(z.object({ execution_id: z.string() }))`SELECT execution_id FROM executions`)).map((r) => r.execution_id),
    );
    for (const id of recorded) expect(ids.has(id)).toBe(true);
    expect(ids.size).toBe(100 + recorded.length + 1_000);
    const survivors = await db.one(sql.type(Count)`
      SELECT count(*) AS n FROM executions WHERE seq = ANY(${sql.array(backlogSeqs.map(String), "int8")})`);
    expect(survivors.n).toBe(100n);
    expect((await server.admin.getStatus({})).executionCount).toBe(BigInt(BACKLOG + recorded.length + 1_000));
  }, 120_000);

  it("lets one process run it at a time: a second run while one holds the lock does nothing", async () => {
    await recordInBulk(server.learning, worldExecutions({ taskTypes: world.taskTypes, count: 2_000, seed: 9_005, idPrefix: "second" }));
    const first = runRetention(db, { maxRows: 10 }, { batchSize: 100, pauseMs: 50 });
    await sleep(100);
    const second = await runRetention(db, { maxRows: 10 }, { batchSize: 100 });
    expect(second).toMatchObject({ ran: false, executions: 0n });
    expect((await first).ran).toBe(true);
    expect(await storedCount(db)).toBe(10n);
    // Pooled connections go back without DISCARD ALL (store/pool.ts): each run must have released
    // the session lock itself, or retention would stay locked on that connection for its life.
    const held = await db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int AS n FROM pg_locks
      WHERE locktype = 'advisory' AND ((classid::bigint << 32) | objid::bigint) = ${RETENTION_LOCK_KEY}`);
    expect(held).toBe(0);
  });

  it("stops between batches when aborted, keeping what it deleted", async () => {
    await recordInBulk(server.learning, worldExecutions({ taskTypes: world.taskTypes, count: 2_000, seed: 9_006, idPrefix: "abort" }));
    const controller = new AbortController();
    const running = runRetention(db, { maxRows: 10 }, { batchSize: 100, pauseMs: 50, signal: controller.signal });
    await sleep(120);
    controller.abort();
    const outcome = await running;
    expect(outcome.interrupted).toBe(true);
    expect(outcome.executions).toBeGreaterThan(0n);
    expect(await storedCount(db)).toBe(2_010n - outcome.executions);
  });
});

describe("scheduled retention", () => {
  it("runs by itself when RETENTION_MAX_ROWS is configured", async () => {
    const server = await startTestServer({ config: { ...QUIET_MODELS, retentionMaxRows: 50, retentionIntervalMs: 1_000 } });
    const db = await poolOn(server);
    try {
      await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: 200, seed: 9_007 });
      const deadline = Date.now() + 15_000;
      while ((await storedCount(db)) > 50n && Date.now() < deadline) await sleep(200);
      expect(await storedCount(db)).toBe(50n);
      expect((await server.admin.getStatus({})).executionCount).toBe(200n);
    } finally {
      await db.end();
      await server.stop();
    }
  }, 60_000);
});
