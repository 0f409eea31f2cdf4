import { Code, ConnectError } from "@connectrpc/connect";
import { type DatabasePool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import type { PredictAgentsResponse } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createStorePool } from "../../src/store/pool.js";
import { createMigratedTestDatabase, dropTestDatabase } from "../support/database.js";
import { makeExecution } from "../support/executions.js";
import { mapConcurrently } from "../support/concurrently.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory } from "../support/world-history.js";

// PredictAgents' log is written off the request path: answers queue in memory and are written in
// batches, one statement per batch. These servers hold their batches for a minute
// (recommendationLogFlushMs), so what is queued stays queued until a flush, a full batch, a reader
// that needs it, or shutdown writes it.

const TASK = "web_development";
const HOLD = { recommendationLogFlushMs: 60_000, evidenceCacheMs: 0 };

const Count = z.object({ n: z.bigint() });

/** How many of these recommendation ids have a row in `recommendations`, and in `decisions`. */
async function logged(db: DatabasePool, ids: readonly string[]): Promise<{ recommendations: number; decisions: number }> {
  const array = sql.array(ids, "text");
  const recommendations = await db.oneFirst(
    sql.type(Count)`SELECT count(*) AS n FROM recommendations WHERE recommendation_id = ANY(${array})`,
  );
  const decisions = await db.oneFirst(sql.type(Count)`SELECT count(*) AS n FROM decisions WHERE recommendation_id = ANY(${array})`);
  return { recommendations: Number(recommendations), decisions: Number(decisions) };
}

/** `calls` PredictAgents answers from `callers` concurrent callers; the first recommendation id of each. */
async function predictMany(server: TestServer, calls: number, callers = 8): Promise<string[]> {
  const responses = await mapConcurrently(calls, callers, () =>
    server.learning.predictAgents({ taskType: TASK, complexity: 2, maxRecommendations: 1, explorationRate: 0.3 }),
  );
  return responses.map(firstId);
}

function firstId(response: PredictAgentsResponse): string {
  const id = response.recommendations[0]?.recommendationId;
  if (!id) throw new Error(`no recommendation (${response.explanation})`);
  return id;
}

describe("the batched recommendation log", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ config: HOLD });
    await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
    await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 300, seed: 811 });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("answers before its log is written, and writes the queued answers in one statement when flushed", async () => {
    await server.flushLogs();
    const before = server.logStats();
    const ids = await predictMany(server, 200);
    expect(await logged(server.db, ids)).toEqual({ recommendations: 0, decisions: 0 });
    expect(server.logStats().queued).toBe(200);
    await server.flushLogs();
    expect(await logged(server.db, ids)).toEqual({ recommendations: 200, decisions: 200 });
    const after = server.logStats();
    expect(after.statements - before.statements).toBe(1);
    expect(after.answers - before.answers).toBe(200);
    expect(after).toMatchObject({ queued: 0, failures: 0, dropped: 0 });
  });

  it("writes a full batch at once, without a flush", async () => {
    await server.flushLogs();
    const before = server.logStats();
    const ids = await predictMany(server, 600);
    // 500 answers make a batch: the first 500 go alone; the other 100 wait for their interval.
    await expect.poll(() => server.logStats().statements - before.statements, { timeout: 30_000 }).toBe(1);
    expect(server.logStats().queued).toBe(100);
    const written = await logged(server.db, ids);
    expect(written).toEqual({ recommendations: 500, decisions: 500 });
  });

  it("accepts RecordExecution with the recommendation id of an answer still queued, and credits it", async () => {
    await server.flushLogs();
    const since = Date.now();
    const response = await server.learning.predictAgents({ taskType: TASK, complexity: 2, maxRecommendations: 1, explorationRate: 0 });
    const recommendation = response.recommendations[0];
    if (!recommendation) throw new Error(response.explanation);
    expect(server.logStats().queued).toBe(1);
    const recorded = await server.learning.recordExecution({
      execution: makeExecution({ taskType: TASK, agents: recommendation.agents, recommendationId: recommendation.recommendationId }),
    });
    expect(recorded.execution?.recommendationId).toBe(recommendation.recommendationId);
    // EvaluatePolicies writes the queue before reading: the decision is credited and followed.
    const evaluation = await server.admin.evaluatePolicies({ taskType: TASK, since: timestampFromMs(since) });
    expect(server.logStats().queued).toBe(0);
    expect(Number(evaluation.creditedCount)).toBe(1);
    expect(Number(evaluation.followedCount)).toBe(1);
  });

  it("counts answers still queued in GetStatus' prediction accuracy", async () => {
    await server.flushLogs();
    const start = (await server.admin.getStatus({})).predictionAccuracy?.evaluatedCount ?? 0n;
    const response = await server.learning.predictAgents({ taskType: TASK, complexity: 2, maxRecommendations: 1 });
    await server.learning.recordExecution({
      execution: makeExecution({ taskType: TASK, agents: response.recommendations[0]?.agents, recommendationId: firstId(response) }),
    });
    expect(server.logStats().queued).toBe(1);
    const end = (await server.admin.getStatus({})).predictionAccuracy?.evaluatedCount ?? 0n;
    expect(end).toBe(start + 1n);
  });

  it("in observation mode counts every earlier answer, queued or not, in the report", async () => {
    await server.admin.setLearningMode({ mode: LearningMode.OBSERVATION });
    try {
      const observe = async () =>
        (await server.learning.predictAgents({ taskType: TASK, complexity: 2, callerDefaultAgents: ["ARCHITECT"] })).observation;
      const start = Number((await observe())?.comparedCount);
      for (let i = 0; i < 3; i++) await observe();
      expect(Number((await observe())?.comparedCount)).toBe(start + 4);
    } finally {
      await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
    }
  });
});

describe("graceful shutdown", () => {
  it("writes every queued answer before the service stops", async () => {
    const databaseUrl = await createMigratedTestDatabase();
    const db = await createStorePool(databaseUrl, { maximumPoolSize: 1 });
    try {
      const server = await startTestServer({ databaseUrl, config: HOLD });
      let ids: string[];
      try {
        await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
        await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 100, seed: 812 });
        ids = await predictMany(server, 300);
        expect(server.logStats().queued).toBe(300);
      } finally {
        await server.stop();
      }
      expect(await logged(db, ids)).toEqual({ recommendations: 300, decisions: 300 });
      const total = await db.oneFirst(sql.type(Count)`SELECT count(*) AS n FROM decisions`);
      expect(total).toBe(300n);
    } finally {
      await db.end();
      await dropTestDatabase(databaseUrl);
    }
  }, 60_000);
});

describe("failed writes", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ config: HOLD });
    await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
    await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 100, seed: 813 });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("keeps the answers of a failed write queued, reports the failure to readers, and writes them once it can", async () => {
    await server.db.query(sql.unsafe`
      CREATE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the log is down'; END $$`);
    await server.db.query(sql.unsafe`CREATE TRIGGER refuse_log BEFORE INSERT ON decisions EXECUTE FUNCTION refuse_log()`);
    const ids = await predictMany(server, 20);
    await expect(server.flushLogs()).rejects.toThrow(/the log is down/);
    expect(server.logStats()).toMatchObject({ queued: 20, dropped: 0 });
    expect(server.logStats().failures).toBeGreaterThan(0);
    // A reader that needs the log fails rather than answering without the queued answers.
    await expect(server.admin.evaluatePolicies({ taskType: TASK })).rejects.toThrow();
    await server.db.query(sql.unsafe`DROP TRIGGER refuse_log ON decisions`);
    await server.flushLogs();
    expect(await logged(server.db, ids)).toEqual({ recommendations: 20, decisions: 20 });
    expect(server.logStats().queued).toBe(0);
  });

  it("refuses new answers with UNAVAILABLE once the oldest unwritten one is over a second old", async () => {
    await server.db.query(sql.unsafe`CREATE TRIGGER refuse_log BEFORE INSERT ON decisions EXECUTE FUNCTION refuse_log()`);
    try {
      const ids = await predictMany(server, 5, 1);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await expect(server.flushLogs()).rejects.toThrow(/the log is down/);
      const refused = await server.learning.predictAgents({ taskType: TASK, complexity: 2 }).then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );
      expect(refused?.code).toBe(Code.Unavailable);
      await server.db.query(sql.unsafe`DROP TRIGGER refuse_log ON decisions`);
      await server.flushLogs();
      expect(await logged(server.db, ids)).toEqual({ recommendations: 5, decisions: 5 });
      // Written again: answers are given again.
      await server.learning.predictAgents({ taskType: TASK, complexity: 2 });
    } finally {
      await server.db.query(sql.unsafe`DROP TRIGGER IF EXISTS refuse_log ON decisions`);
    }
  });

  it("drops only the answer whose row PostgreSQL refuses, and logs it, writing the rest of its batch", async () => {
    await server.db.query(sql.unsafe`
      CREATE FUNCTION refuse_complexity() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$`);
    await server.db.query(
      sql.unsafe`CREATE TRIGGER refuse_complexity BEFORE INSERT ON decisions FOR EACH ROW WHEN (NEW.complexity = 3.25) EXECUTE FUNCTION refuse_complexity()`,
    );
    try {
      await server.flushLogs();
      const before = server.logStats();
      const good = await predictMany(server, 10);
      const bad = firstId(await server.learning.predictAgents({ taskType: TASK, complexity: 3.25, maxRecommendations: 1 }));
      await server.flushLogs();
      expect(await logged(server.db, good)).toEqual({ recommendations: 10, decisions: 10 });
      expect(await logged(server.db, [bad])).toEqual({ recommendations: 0, decisions: 0 });
      expect(server.logStats().dropped - before.dropped).toBe(1);
    } finally {
      await server.db.query(sql.unsafe`DROP TRIGGER refuse_complexity ON decisions`);
    }
  });
});
