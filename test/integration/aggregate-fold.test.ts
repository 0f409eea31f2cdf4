import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { DatabasePool } from "slonik";
import { sql } from "slonik";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { FOLD_LOCK_KEY, foldAggregateDeltas, vacuumAggregateDeltas } from "../../src/store/execution-aggregates.js";
import { makeExecution, uniqueId } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";

// Ingest appends one delta per stored execution; a background job folds the deltas into the sums.
// The server here folds only once a minute, so the tests decide when folds happen.

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    config: { aggregateFoldMs: 60_000, analysisEveryExecutions: 1_000_000_000, retrainEveryExecutions: 1_000_000_000 },
  });
});

afterAll(async () => {
  await server?.stop();
});

const AGENTS = ["ARCHITECT", "CONSTRUCTOR", "TESTER", "REVIEWER", "DEPLOYER"];

/** Executions of task types starting with `prefix`, in varied teams, orders, outcomes and errors. */
function varied(prefix: string, count: number): Execution[] {
  return Array.from({ length: count }, (_, i) => {
    const team = [AGENTS[i % 5], AGENTS[(i * 3 + 1) % 5], AGENTS[(i * 7 + 2) % 5]].filter((a, j, all) => all.indexOf(a) === j);
    const success = i % 3 !== 0;
    return makeExecution({
      executionId: uniqueId(prefix),
      taskType: `${prefix}_${i % 4}`,
      agents: i % 2 === 0 ? team.map(String) : team.map(String).reverse(),
      durationSeconds: (i % 17) * 1.25,
      complexity: (i % 10) + 0.5,
      success,
      errorMessage: success ? "" : `failure ${i % 4}`,
      ...(i % 5 === 0 ? {} : { userSatisfaction: (i % 10) + 1 }),
    });
  });
}

async function record(executions: Execution[]): Promise<void> {
  for (const execution of executions) await server.learning.recordExecution({ execution });
}

const Figures = z.object({ key: z.string(), figures: z.string() });

/**
 * Every aggregate of the task types LIKE `like`, each row as `key → figures` (counts exact, sums
 * rounded: a fold adds the same numbers in another order), read through the views.
 */
async function viewed(db: DatabasePool, like: string): Promise<Record<string, string>> {
  const rows = await db.any(sql.type(Figures)`
    SELECT 'task ' || task_type AS key,
      concat_ws('/', executions, successes, round(duration_sum::numeric, 6), round(log_duration_sq_sum::numeric, 6),
        round(complexity_sum::numeric, 6), last_recorded_at) AS figures
    FROM task_type_stats WHERE task_type LIKE ${like}
    UNION ALL
    SELECT 'agent ' || task_type || ' ' || agent, concat_ws('/', executions, successes, round(duration_sum::numeric, 6),
      round(log_duration_sum::numeric, 6), last_recorded_at)
    FROM agent_stats WHERE task_type LIKE ${like}
    UNION ALL
    SELECT 'combination ' || task_type || ' ' || agent_set, concat_ws('/', executions, successes, agents,
      round(satisfaction_sum::numeric, 6), satisfaction_count, last_recorded_at)
    FROM combination_stats WHERE task_type LIKE ${like}
    UNION ALL
    SELECT 'sequence ' || task_type || ' ' || agent_sequence::text, concat_ws('/', executions, successes, agent_set,
      round(duration_sum::numeric, 6), last_recorded_at)
    FROM sequence_stats WHERE task_type LIKE ${like}
    UNION ALL
    SELECT 'error ' || task_type || ' ' || agent_set || ' ' || error_message, occurrences::text
    FROM combination_errors WHERE task_type LIKE ${like}`);
  return Object.fromEntries(rows.map((r) => [r.key, r.figures]));
}

/** The same figures recomputed from the raw executions: what the aggregates must say. */
async function fromRaw(db: DatabasePool, like: string): Promise<Record<string, string>> {
  const rows = await db.any(sql.type(Figures)`
    WITH e AS (SELECT *, ln(1 + duration_seconds) AS ld FROM executions WHERE task_type LIKE ${like})
    SELECT 'task ' || task_type AS key,
      concat_ws('/', count(*), count(*) FILTER (WHERE success), round(sum(duration_seconds)::numeric, 6),
        round(sum(ld * ld)::numeric, 6), round(sum(complexity)::numeric, 6), max(recorded_at)) AS figures
    FROM e GROUP BY task_type
    UNION ALL
    SELECT 'agent ' || task_type || ' ' || a.agent, concat_ws('/', count(*), count(*) FILTER (WHERE success),
      round(sum(duration_seconds)::numeric, 6), round(sum(ld)::numeric, 6), max(recorded_at))
    FROM e CROSS JOIN LATERAL unnest(e.agents) AS a(agent) GROUP BY task_type, a.agent
    UNION ALL
    SELECT 'combination ' || task_type || ' ' || agent_set, concat_ws('/', count(*), count(*) FILTER (WHERE success),
      string_to_array(agent_set, ','), round(coalesce(sum(user_satisfaction), 0)::numeric, 6), count(user_satisfaction),
      max(recorded_at))
    FROM e GROUP BY task_type, agent_set
    UNION ALL
    SELECT 'sequence ' || task_type || ' ' || agents::text, concat_ws('/', count(*), count(*) FILTER (WHERE success),
      min(agent_set), round(sum(duration_seconds)::numeric, 6), max(recorded_at))
    FROM e GROUP BY task_type, agents
    UNION ALL
    SELECT 'error ' || task_type || ' ' || agent_set || ' ' || left(error_message, 500), count(*)::text
    FROM e WHERE NOT success AND error_message <> '' GROUP BY task_type, agent_set, left(error_message, 500)`);
  return Object.fromEntries(rows.map((r) => [r.key, r.figures]));
}

async function pendingDeltas(db: DatabasePool): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM execution_deltas`);
}

async function foldAll(db: DatabasePool, slice: number): Promise<number> {
  let total = 0;
  for (let n = await foldAggregateDeltas(db, slice); n > 0; n = await foldAggregateDeltas(db, slice)) total += n;
  return total;
}

function freshPrefix(name: string): string {
  return `${name}_${randomBytes(3).toString("hex")}`;
}

describe("running aggregates as folded sums plus deltas", () => {
  it("counts an acknowledged execution in every aggregate at once, before any fold", async () => {
    const prefix = freshPrefix("unfolded");
    await foldAll(server.db, 10_000);
    await record(varied(prefix, 60));

    expect(await pendingDeltas(server.db)).toBe(60);
    const like = `${prefix}\\_%`;
    const raw = await fromRaw(server.db, like);
    expect(Object.keys(raw).length).toBeGreaterThan(20);
    expect(await viewed(server.db, like)).toEqual(raw);
  });

  it("folds the deltas into the sums in slices without changing any aggregate, and deletes them", async () => {
    const prefix = freshPrefix("folded");
    await record(varied(prefix, 45));
    const like = `${prefix}\\_%`;
    const before = await viewed(server.db, like);

    const folded = await foldAll(server.db, 7);

    expect(folded).toBeGreaterThanOrEqual(45);
    expect(await pendingDeltas(server.db)).toBe(0);
    expect(await viewed(server.db, like)).toEqual(before);
    expect(await viewed(server.db, like)).toEqual(await fromRaw(server.db, like));
    expect(await executionsIn(server.db, "task_type_stats_folded", like)).toBe(45);
  });

  it("reports in GetStatus exactly the executions, task types and teams stored, before and after a fold", async () => {
    const raw = async () =>
      server.db.one(
        sql.type(z.object({ executions: z.bigint(), task_types: z.bigint(), teams: z.bigint() }))`
          SELECT count(*) AS executions, count(DISTINCT task_type) AS task_types,
            count(DISTINCT (task_type, agent_set)) AS teams FROM executions`,
      );
    const reported = async () => {
      const status = await server.admin.getStatus({});
      return { executions: status.executionCount, task_types: status.taskTypeCount, teams: status.combinationCount };
    };
    const prefix = freshPrefix("status");
    await record(varied(prefix, 30));
    await foldAll(server.db, 10_000);
    // Teams already folded and new ones, all still deltas.
    await record([...varied(prefix, 30), ...varied(freshPrefix("status_new"), 20)]);
    expect(await pendingDeltas(server.db)).toBe(50);

    expect(await reported()).toEqual(await raw());
    await foldAll(server.db, 10_000);
    expect(await reported()).toEqual(await raw());
  });

  it("gives back the space of folded deltas when the delta table is vacuumed", async () => {
    const size = async () =>
      server.db.oneFirst(sql.type(z.object({ bytes: z.number() }))`SELECT pg_relation_size('execution_deltas')::int AS bytes`);
    await foldAll(server.db, 10_000);
    await vacuumAggregateDeltas(server.db);
    const empty = await size();
    const bulk = varied(freshPrefix("vacuumed"), 400);
    await server.learning.recordExecutions(
      (async function* () {
        yield { executions: bulk };
      })(),
    );
    await foldAll(server.db, 10_000);
    const folded = await size();

    await vacuumAggregateDeltas(server.db);

    expect(folded).toBeGreaterThan(empty);
    expect(await size()).toBeLessThan(folded);
    expect(await pendingDeltas(server.db)).toBe(0);
  });

  it("folds nothing while another replica holds the fold lock", async () => {
    const prefix = freshPrefix("locked");
    await record(varied(prefix, 10));
    const pending = await pendingDeltas(server.db);

    const folded = await server.db.connect(async (other) => {
      await other.query(sql.unsafe`SELECT pg_advisory_lock(${FOLD_LOCK_KEY})`);
      try {
        return await foldAggregateDeltas(server.db, 10_000);
      } finally {
        await other.query(sql.unsafe`SELECT pg_advisory_unlock(${FOLD_LOCK_KEY})`);
      }
    });

    expect(folded).toBe(0);
    expect(await pendingDeltas(server.db)).toBe(pending);
    expect(await foldAll(server.db, 10_000)).toBe(pending);
  });

  it("leaves every delta and every sum as they were when a fold fails", async () => {
    const prefix = freshPrefix("failing");
    await record(varied(prefix, 12));
    const like = `${prefix}\\_%`;
    const before = await viewed(server.db, like);
    // A delta naming an agent the catalog lacks: its agent_stats_folded row breaks the foreign key.
    await server.db.query(sql.unsafe`
      INSERT INTO execution_deltas (task_type, agents, agent_set, success, duration_seconds, complexity, error_message, recorded_at)
      VALUES (${`${prefix}-bad`}, '{NOT_IN_CATALOG}', 'NOT_IN_CATALOG', true, 1, 1, '', now())`);
    const pending = await pendingDeltas(server.db);

    await expect(foldAggregateDeltas(server.db, 10_000)).rejects.toThrow();

    expect(await pendingDeltas(server.db)).toBe(pending);
    expect(await viewed(server.db, like)).toEqual(before);
    await server.db.query(sql.unsafe`DELETE FROM execution_deltas WHERE task_type = ${`${prefix}-bad`}`);
    expect(await foldAll(server.db, 10_000)).toBe(pending - 1);
    expect(await viewed(server.db, like)).toEqual(await fromRaw(server.db, like));
  });

  it("counts every execution exactly once while folds run during concurrent single and bulk ingest", async () => {
    const prefix = freshPrefix("concurrent");
    const like = `${prefix}\\_%`;
    const unary = varied(prefix, 120);
    const bulk = varied(prefix, 600);
    let ingesting = true;
    const folding = (async () => {
      let folded = 0;
      while (ingesting) {
        folded += await foldAggregateDeltas(server.db, 50);
        await delay(5);
      }
      return folded;
    })();

    const [, , bulkResult] = await Promise.all([
      Promise.all(Array.from({ length: 6 }, (_, w) => record(unary.filter((_, i) => i % 6 === w)))),
      record(unary.slice(0, 30)),
      server.learning.recordExecutions(
        (async function* () {
          for (let i = 0; i < bulk.length; i += 100) yield { executions: bulk.slice(i, i + 100) };
        })(),
      ),
    ]).finally(() => {
      ingesting = false;
    });
    expect(await folding).toBeGreaterThan(0);

    expect(bulkResult.result?.storedCount).toBe(600);
    expect(await viewed(server.db, like)).toEqual(await fromRaw(server.db, like));
    await foldAll(server.db, 10_000);
    expect(await viewed(server.db, like)).toEqual(await fromRaw(server.db, like));
    expect(await executionsIn(server.db, "task_type_stats", like)).toBe(720);
  });
});

/** Executions the task-type sums of `table` (the folded table, or the view with the deltas) count for task types LIKE `like`. */
function executionsIn(db: DatabasePool, table: "task_type_stats" | "task_type_stats_folded", like: string): Promise<number> {
  return db.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`SELECT coalesce(sum(executions), 0)::int AS n FROM ${sql.identifier([table])} WHERE task_type LIKE ${like}`,
  );
}
