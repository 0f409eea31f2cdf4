import { Code } from "@connectrpc/connect";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { RetrainResponse } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { createTestDatabase, dropTestDatabase } from "../support/database.js";
import { activationHistory, pollUntil, QUIET_MODELS, rejectionOf } from "../support/model-fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world } from "../support/world-history.js";

// A Retrain that arrives while a training runs waits for it and answers with its outcome: the
// caller asked for the result, and "another replica is retraining" was untrue when the training
// under way was this replica's own. Its deadline bounds the wait (DEADLINE_EXCEEDED, not ABORTED).
//
// The three situations have a server and a database each, so they run side by side (much of each
// is waiting: on a training, on the scheduler's next look); within one, the tests run in order.

const EXECUTIONS = 2_000;

const versionsOf = (response: RetrainResponse) => response.models.map((m) => m.version).sort();

/** Whether some session holds the retrain advisory lock now (pg_locks, read in SQL). */
async function retrainLockHeld(server: TestServer): Promise<boolean> {
  // The bigint key 7_461_239_003 is split into classid (high 32 bits) and objid (low 32 bits).
  // Advisory locks are per database: the other test files' servers train on the same PostgreSQL.
  const row = await server.db.one(sql.type(z.object({ held: z.boolean() }))`
    SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid = 1 AND objid = ${7_461_239_003 - 2 ** 32}::bigint::oid AND objsubid = 1) AS held`);
  return row.held;
}

describe.concurrent("Retrain while this replica trains", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: QUIET_MODELS });
    await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: EXECUTIONS, seed: 5_101 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.sequential("answers two concurrent Retrain calls with the same versions, trained once", async () => {
    const before = (await server.admin.listModels({})).models.length;
    const [a, b] = await Promise.all([server.admin.retrain({}), server.admin.retrain({})]);
    expect(a.models).toHaveLength(2);
    expect(versionsOf(b)).toEqual(versionsOf(a));
    expect((await server.admin.listModels({})).models.length).toBe(before + 2);
  });

  it.sequential("answers DEADLINE_EXCEEDED, not ABORTED, to a caller whose deadline ends while it waits, and the training still finishes", async () => {
    const first = server.admin.retrain({});
    // Let the first call take the lock before the second one arrives.
    await pollUntil(() => retrainLockHeld(server), Boolean, 10_000, 5);
    const error = await rejectionOf(server.admin.retrain({}, { timeoutMs: 300 }));
    expect(Code[error.code]).toBe(Code[Code.DeadlineExceeded]);
    const outcome = await first;
    expect(outcome.models).toHaveLength(2);
  });
});

describe.concurrent("Retrain while the automatic retraining runs", () => {
  let server: TestServer;
  beforeAll(async () => {
    // Automatic retraining becomes due once 1,000 executions arrived; the scheduler looks every 5 s.
    server = await startTestServer({ config: { ...QUIET_MODELS, retrainEveryExecutions: 1_000 } });
    await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: EXECUTIONS, seed: 5_102 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.sequential("waits for the automatic run and answers with the versions it activated", async () => {
    const started = await pollUntil(() => retrainLockHeld(server), Boolean, 30_000, 5);
    expect(started.ok, "the automatic retraining never started").toBe(true);
    const response = await server.admin.retrain({});
    expect(response.models).toHaveLength(2);
    // The versions are the automatic run's own: activated as "scheduled", none "requested".
    const history = await activationHistory(server);
    const accepted = response.models.filter((m) => m.rejectionReason === "").map((m) => m.version);
    for (const version of accepted) expect(history.find((h) => h.version === version)?.reason, version).toBe("scheduled");
    expect(history.filter((h) => h.reason === "requested")).toEqual([]);
  });
});

describe.concurrent("Retrain while another replica trains", () => {
  let databaseUrl: string;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    a = await startTestServer({ databaseUrl, config: QUIET_MODELS });
    b = await startTestServer({ databaseUrl, config: QUIET_MODELS });
    await recordWorldHistory(a.learning, { taskTypes: world.taskTypes, count: EXECUTIONS, seed: 5_103 });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it.sequential("waits for the other replica and answers with the versions it stored", async () => {
    const onA = a.admin.retrain({});
    await pollUntil(() => retrainLockHeld(a), Boolean, 10_000, 5);
    const onB = await b.admin.retrain({});
    expect(versionsOf(onB)).toEqual(versionsOf(await onA));
  });

  it.sequential("answers DEADLINE_EXCEEDED when the other replica's run outlasts the deadline", async () => {
    const onA = a.admin.retrain({});
    await pollUntil(() => retrainLockHeld(a), Boolean, 10_000, 5);
    const error = await rejectionOf(b.admin.retrain({}, { timeoutMs: 300 }));
    expect(Code[error.code]).toBe(Code[Code.DeadlineExceeded]);
    expect((await onA).models).toHaveLength(2);
  });
});
