import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { type DatabasePool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateExecution } from "../../src/service/execution-input.js";
import { GroupCommit } from "../../src/service/group-commit.js";
import { contentHash, type ExecutionRecord } from "../../src/store/execution-record.js";
import { createStorePool } from "../../src/store/pool.js";
import { makeExecution, uniqueId } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
/** The store's own kind of pool (rows checked against their schemas), for GroupCommit used directly. */
let pool: DatabasePool;

beforeAll(async () => {
  server = await startTestServer();
  pool = await createStorePool(server.databaseUrl, { maximumPoolSize: 2 });
});

afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

function freshTaskType(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

/** The gRPC code a call ended with ("ok" when it succeeded). */
async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  return call.then(
    () => "ok" as const,
    (e: unknown) => ConnectError.from(e).code,
  );
}

async function stats(taskType: string) {
  const executions = await server.db.oneFirst(sql.unsafe`SELECT count(*)::int FROM executions WHERE task_type = ${taskType}`);
  const counted = await server.db.maybeOneFirst(sql.unsafe`SELECT executions::int FROM task_type_stats WHERE task_type = ${taskType}`);
  const combinations = await server.db.oneFirst(
    sql.unsafe`SELECT coalesce(sum(executions), 0)::int FROM combination_stats WHERE task_type = ${taskType}`,
  );
  // Rows written by one transaction share its xmin: fewer distinct ones than rows means commits were shared.
  const transactions = await server.db.oneFirst(
    sql.unsafe`SELECT count(DISTINCT xmin::text)::int FROM executions WHERE task_type = ${taskType}`,
  );
  return { executions, counted, combinations, transactions };
}

function record(overrides: Parameters<typeof makeExecution>[0]): ExecutionRecord {
  const validation = validateExecution(makeExecution(overrides));
  if (!validation.ok) throw new Error("test execution should be valid");
  return validation.record;
}

describe("group commit of RecordExecution", () => {
  it("answers concurrent calls one by one: fresh, duplicate, conflicting and invalid executions among them each get their own answer, and nothing is counted twice", async () => {
    const taskType = freshTaskType("group");
    const original = makeExecution({ taskType, executionId: uniqueId("group-original") });
    await server.learning.recordExecution({ execution: original });
    const twin = makeExecution({ taskType, executionId: uniqueId("group-twin") });
    const fresh = Array.from({ length: 30 }, () => makeExecution({ taskType }));

    const [freshAnswers, resent, conflicting, invalid, twinAnswers] = await Promise.all([
      Promise.all(fresh.map((execution) => server.learning.recordExecution({ execution }))),
      server.learning.recordExecution({ execution: original }),
      codeOf(server.learning.recordExecution({ execution: { ...original, durationSeconds: original.durationSeconds + 1 } })),
      codeOf(server.learning.recordExecution({ execution: makeExecution({ taskType, complexity: -1 }) })),
      Promise.all([twin, twin].map((execution) => server.learning.recordExecution({ execution }))),
    ]);

    expect(freshAnswers.map((a) => a.duplicate)).toEqual(fresh.map(() => false));
    expect(freshAnswers.map((a) => a.execution?.executionId)).toEqual(fresh.map((e) => e.executionId));
    expect(resent.duplicate).toBe(true);
    expect(conflicting).toBe(Code.AlreadyExists);
    expect(invalid).toBe(Code.InvalidArgument);
    expect(twinAnswers.map((a) => a.duplicate).sort()).toEqual([false, true]);
    const after = await stats(taskType);
    // The original, 30 fresh executions and the twin, each once, in the table and in the aggregates.
    expect(after).toMatchObject({ executions: 32, counted: 32, combinations: 32 });
    expect(after.transactions).toBeLessThan(31);
  });

  it("fails only the call whose row PostgreSQL refuses, storing the others of its group", async () => {
    const taskType = freshTaskType("group_refused");
    const group = new GroupCommit(pool, new Set(), { maxGroup: 64, maxInFlight: 1 });
    const good = Array.from({ length: 5 }, () => record({ taskType }));
    // Past validation (which would refuse it first): the table's CHECK on complexity refuses it.
    const refused = { ...record({ taskType }), complexity: 11 };
    const all = [good[0], good[1], refused, good[2], good[3], good[4]] as ExecutionRecord[];

    const answers = await Promise.allSettled(all.map((r) => group.record(r, contentHash(r))));

    expect(answers.map((a) => (a.status === "fulfilled" ? a.value.kind : "failed"))).toEqual([
      "stored",
      "stored",
      "failed",
      "stored",
      "stored",
      "stored",
    ]);
    expect(await stats(taskType)).toMatchObject({ executions: 5, counted: 5, combinations: 5 });
  });

  it("shares one statement among calls that arrive while another commits, each settled with its own outcome", async () => {
    const taskType = freshTaskType("group_shared");
    const group = new GroupCommit(pool, new Set(), { maxGroup: 64, maxInFlight: 1 });
    const first = record({ taskType });
    const rest = Array.from({ length: 10 }, () => record({ taskType }));
    const repeat = rest[3] as ExecutionRecord;

    const answers = await Promise.all([first, ...rest, repeat].map((r) => group.record(r, contentHash(r))));

    expect(answers.map((a) => a.kind)).toEqual([...Array.from({ length: 11 }, () => "stored"), "duplicate"]);
    const repeated = answers[11];
    expect(repeated?.kind === "duplicate" && repeated.execution.seq).toBe(answers[4]?.kind === "stored" && answers[4].seq);
    // The first call commits alone; the eleven that arrived meanwhile share the next statement.
    expect(await stats(taskType)).toMatchObject({ executions: 11, counted: 11, transactions: 2 });
  });
});
