import { create, type JsonObject, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createPool, type DatabasePool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { type BulkResult, type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { requireBuild } from "../support/build-once.js";
import { createTestDatabase, dropTestDatabase } from "../support/database.js";
import { Rng } from "../support/fuzz.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";

// Crash safety, as slonik's integration tests prove termination: the real `serve` process is
// killed with SIGKILL twice, at seeded points, while a client streams 10,000 executions (bulk
// calls of 4 × 500, and concurrent unary calls) and re-sends whatever was not acknowledged after
// every failure. Afterwards PostgreSQL must hold each execution exactly once, and every running
// aggregate must count it exactly once: no lost commit, no double count from a re-send.
// CRASH_SEED replays another schedule.

const SEED = Number(process.env.CRASH_SEED ?? 7_331);
const TOTAL = 10_000;
/** Executions sent by the two bulk streams; the rest go one by one. */
const STREAMED = 8_000;
const CHUNK = 500;
const CALL_CHUNKS = 4;
const UNARY_CONCURRENCY = 16;
/** The whole scenario must end within this, retries included. */
const SCENARIO_LIMIT_MS = 60_000;

const TASK_TYPES = ["web_development", "bug_fix", "data_pipeline", "security_audit", "documentation"];
const AGENTS = ["ARCHITECT", "CONSTRUCTOR", "TESTBED", "REVIEWER", "DEPLOYER", "SCRIBE", "ANALYST", "GUARDIAN", "PROFILER"];
const ERRORS = ["timeout after 300s", "dependency conflict between ARCHITECT and TESTBED", "flaky test: 'login' failed", "out of memory"];

/** The 10,000 executions, fully determined by the seed, so a re-send is byte-for-byte the same. */
function generateExecutions(rng: Rng): Execution[] {
  return Array.from({ length: TOTAL }, (_, i) => {
    const team = [...AGENTS].sort(() => rng.next() - 0.5).slice(0, rng.int(1, 4));
    const success = rng.chance(0.7);
    const started = Date.UTC(2025, 0, 1) + rng.int(0, 300 * 86_400) * 1000;
    const durationSeconds = rng.int(1, 60_000) / 100;
    return create(ExecutionSchema, {
      executionId: `crash-${SEED}-${i}`,
      taskType: rng.pick(TASK_TYPES),
      taskDescription: `task ${i}`,
      complexity: rng.int(0, 1000) / 100,
      agents: team,
      durationSeconds,
      success,
      errorMessage: success ? "" : rng.pick(ERRORS),
      resourceUsage: rng.chance(0.5)
        ? { cpuPercent: rng.int(0, 4000) / 10, memoryMb: rng.int(1, 8192), metrics: { tokens_in: rng.int(0, 5000) } }
        : undefined,
      userSatisfaction: rng.chance(0.3) ? rng.int(1, 10) : undefined,
      startedAt: timestampFromDate(new Date(started)),
      finishedAt: timestampFromDate(new Date(started + Math.round(durationSeconds * 1000))),
    });
  });
}

function contentOf(execution: Execution): JsonObject {
  const json = toJson(ExecutionSchema, execution) as JsonObject;
  delete json.recordedAt;
  return json;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the client saw, for the assertions. */
interface Observed {
  /** Executions acknowledged (by an OK answer covering them), by id; the value counts acknowledgements. */
  acknowledged: Map<string, number>;
  /** Executions handed to the transport for the first time: the clock the kills are scheduled on. */
  sent: number;
  /** Failed attempts, with their code and when (after how many kills). */
  failures: { code: string; message: string; afterKills: number }[];
  /** Acknowledgements that did not add up (rejections, counts that do not match what was sent). */
  anomalies: string[];
  kills: { sent: number; acknowledged: number; inFlight: number; failuresBefore: number }[];
  /** Executions a bulk answer reported as already stored: the part of a re-send that had committed before a kill. */
  duplicatesReported: number;
  elapsedMs: number;
}

/**
 * Runs the load against the process with retries, and kills/restarts it twice when the seeded
 * numbers of executions have been sent.
 */
async function runScenario(server: ServerProcess, executions: readonly Execution[], rng: Rng): Promise<Observed> {
  const observed: Observed = {
    acknowledged: new Map(),
    sent: 0,
    failures: [],
    anomalies: [],
    kills: [],
    duplicatesReported: 0,
    elapsedMs: 0,
  };
  const started = Date.now();
  const deadline = started + SCENARIO_LIMIT_MS;
  const firstSent = new Set<string>();
  let inFlight = 0;
  const markSent = (batch: readonly Execution[]) => {
    for (const e of batch) {
      if (firstSent.has(e.executionId)) continue;
      firstSent.add(e.executionId);
      observed.sent++;
    }
  };
  const acknowledge = (batch: readonly Execution[]) => {
    for (const e of batch) observed.acknowledged.set(e.executionId, (observed.acknowledged.get(e.executionId) ?? 0) + 1);
  };
  const connect = () => createClient(LearningService, createGrpcTransport({ baseUrl: server.url }));

  /** Tries until an OK answer: after any failure, a new connection and the same request again. */
  async function untilAcknowledged<T>(attempt: (learning: ReturnType<typeof connect>) => Promise<T>): Promise<T> {
    let learning = connect();
    for (let tries = 1; ; tries++) {
      let failure: unknown;
      // In flight only while the attempt is on the wire: a call sleeping in backoff is not.
      inFlight++;
      try {
        return await attempt(learning);
      } catch (error) {
        failure = error;
      } finally {
        inFlight--;
      }
      const e = ConnectError.from(failure);
      observed.failures.push({ code: Code[e.code], message: e.rawMessage, afterKills: observed.kills.length });
      if (Date.now() > deadline) throw new Error(`gave up after ${tries} attempts: ${e.message}`);
      await sleep(Math.min(25 * 2 ** tries, 500));
      learning = connect();
    }
  }

  async function* chunks(batch: readonly Execution[]): AsyncIterable<{ executions: Execution[] }> {
    for (let i = 0; i < batch.length; i += CHUNK) {
      const chunk = batch.slice(i, i + CHUNK);
      markSent(chunk);
      yield { executions: chunk };
    }
  }

  function checkBulk(batch: readonly Execution[], result: BulkResult | undefined): void {
    if (!result) return void observed.anomalies.push("a bulk answer without a result");
    if (result.rejected.length > 0)
      observed.anomalies.push(`rejected: ${JSON.stringify(result.rejected.slice(0, 3).map((r) => [r.executionId, r.code, r.reason]))}`);
    if (result.receivedCount !== batch.length) observed.anomalies.push(`received_count ${result.receivedCount} for ${batch.length} sent`);
    if (result.storedCount + result.duplicateIds.length !== batch.length) {
      observed.anomalies.push(`stored ${result.storedCount} + duplicates ${result.duplicateIds.length} ≠ ${batch.length} sent`);
    }
    observed.duplicatesReported += result.duplicateIds.length;
  }

  async function streamWorker(batch: readonly Execution[]): Promise<void> {
    for (let i = 0; i < batch.length; i += CHUNK * CALL_CHUNKS) {
      const call = batch.slice(i, i + CHUNK * CALL_CHUNKS);
      const { result } = await untilAcknowledged((learning) => learning.recordExecutions(chunks(call), { timeoutMs: 30_000 }));
      checkBulk(call, result);
      acknowledge(call);
    }
  }

  async function unaryWorker(queue: Execution[]): Promise<void> {
    for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
      const execution = e;
      const answer = await untilAcknowledged((learning) => {
        markSent([execution]);
        return learning.recordExecution({ execution }, { timeoutMs: 10_000 });
      });
      if (!answer.execution || JSON.stringify(contentOf(answer.execution)) !== JSON.stringify(contentOf(execution))) {
        observed.anomalies.push(`${execution.executionId} acknowledged with other content`);
      }
      acknowledge([execution]);
    }
  }

  async function killer(): Promise<void> {
    const schedule = [rng.int(1_000, 3_500), rng.int(5_500, 7_500)];
    for (const threshold of schedule) {
      const acknowledgedBefore = observed.acknowledged.size;
      // The second kill also waits for the restarted server to have done some work.
      while (observed.sent < threshold || observed.acknowledged.size < acknowledgedBefore + (observed.kills.length > 0 ? 200 : 0)) {
        if (Date.now() > deadline) throw new Error(`kill at ${threshold} sent never came (sent ${observed.sent})`);
        await sleep(2);
      }
      await sleep(rng.int(0, 100));
      observed.kills.push({
        sent: observed.sent,
        acknowledged: observed.acknowledged.size,
        inFlight,
        failuresBefore: observed.failures.length,
      });
      await server.kill();
      await sleep(rng.int(0, 300));
      await server.restart();
    }
  }

  const streamed = executions.slice(0, STREAMED);
  const unaryQueue = executions.slice(STREAMED);
  await Promise.all([
    streamWorker(streamed.slice(0, STREAMED / 2)),
    streamWorker(streamed.slice(STREAMED / 2)),
    ...Array.from({ length: UNARY_CONCURRENCY }, () => unaryWorker(unaryQueue)),
    killer(),
  ]);
  observed.elapsedMs = Date.now() - started;
  return observed;
}

describe(`when the server process is killed (SIGKILL) twice under load (seed ${SEED})`, () => {
  let databaseUrl: string;
  let db: DatabasePool;
  let server: ServerProcess | undefined;
  let executions: Execution[];
  let observed: Observed;

  beforeAll(async () => {
    await requireBuild(/src\/(cli\/|main\.ts|config\.ts)/);
    databaseUrl = await createTestDatabase();
    db = await createPool(databaseUrl, { maximumPoolSize: 2 });
    server = await startServerProcess({
      databaseUrl,
      // Only ingestion is under test: no automatic analysis or training competing for the CPU.
      env: {
        ANALYSIS_EVERY_EXECUTIONS: "1000000000",
        ANALYSIS_INTERVAL_MS: "3600000",
        RETRAIN_EVERY_EXECUTIONS: "1000000000",
        RETRAIN_INTERVAL_MS: "3600000",
      },
    });
    const rng = new Rng(SEED);
    executions = generateExecutions(rng);
    try {
      observed = await runScenario(server, executions, rng);
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nserver output:\n${server.output().slice(-4_000)}`);
    }
  }, 85_000);

  afterAll(async () => {
    await server?.stop();
    await db?.end();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it("killed the server twice while executions were in flight, and the client saw those calls fail", () => {
    expect(server?.starts).toBe(3);
    expect(observed.kills).toHaveLength(2);
    for (const [i, kill] of observed.kills.entries()) {
      expect(kill.acknowledged, `kill ${i + 1}`).toBeLessThan(TOTAL);
      expect(kill.inFlight, `kill ${i + 1}`).toBeGreaterThan(0);
      expect(observed.failures.filter((f) => f.afterKills === i + 1).length, `failures after kill ${i + 1}`).toBeGreaterThan(0);
    }
  });

  it("acknowledged every execution exactly once, re-sends included, without a rejection or a conflict", () => {
    expect(observed.anomalies).toEqual([]);
    const wrongCodes = observed.failures.filter((f) => ["InvalidArgument", "AlreadyExists", "FailedPrecondition"].includes(f.code));
    expect(wrongCodes).toEqual([]);
  });

  it("stores each of the 10,000 executions exactly once", async () => {
    const counts = await db.one(
      sql.type(z.object({ rows: z.bigint(), ids: z.bigint(), ours: z.bigint() }))`
        SELECT count(*) AS rows, count(DISTINCT execution_id) AS ids,
               count(*) FILTER (WHERE execution_id = ANY(${sql.array(
                 executions.map((e) => e.executionId),
                 "text",
               )})) AS ours
        FROM executions`,
    );

    expect(counts).toEqual({ rows: BigInt(TOTAL), ids: BigInt(TOTAL), ours: BigInt(TOTAL) });
  });

  it("stores each execution with the content that was sent", async () => {
    const admin = createClient(AdminService, createGrpcTransport({ baseUrl: server?.url ?? "" }));
    const stored = new Map<string, JsonObject>();
    for await (const { execution } of admin.exportData({})) if (execution) stored.set(execution.executionId, contentOf(execution));

    const differing = executions
      .filter((e) => JSON.stringify(stored.get(e.executionId)) !== JSON.stringify(contentOf(e)))
      .map((e) => e.executionId);

    expect(stored.size).toBe(TOTAL);
    expect(differing).toEqual([]);
  });

  it("counts each execution once in every running aggregate", async () => {
    const perTaskType = new Map<string, { executions: bigint; successes: bigint }>();
    for (const e of executions) {
      const entry = perTaskType.get(e.taskType) ?? { executions: 0n, successes: 0n };
      entry.executions++;
      if (e.success) entry.successes++;
      perTaskType.set(e.taskType, entry);
    }
    const expected = {
      task_types: BigInt(TOTAL),
      agents: BigInt(executions.reduce((n, e) => n + e.agents.length, 0)),
      combinations: BigInt(TOTAL),
      sequences: BigInt(TOTAL),
      errors: BigInt(executions.filter((e) => !e.success && e.errorMessage !== "").length),
    };

    const sums = await db.one(
      sql.type(
        z.object({ task_types: z.bigint(), agents: z.bigint(), combinations: z.bigint(), sequences: z.bigint(), errors: z.bigint() }),
      )`
        SELECT (SELECT sum(executions) FROM task_type_stats)::bigint AS task_types,
               (SELECT sum(executions) FROM agent_stats)::bigint AS agents,
               (SELECT sum(executions) FROM combination_stats)::bigint AS combinations,
               (SELECT sum(executions) FROM sequence_stats)::bigint AS sequences,
               (SELECT sum(occurrences) FROM combination_errors)::bigint AS errors`,
    );
    const rows = await db.any(sql.type(z.object({ task_type: z.string(), executions: z.bigint(), successes: z.bigint() }))`
      SELECT task_type, executions, successes FROM task_type_stats`);

    expect(sums).toEqual(expected);
    expect(new Map(rows.map((r) => [r.task_type, { executions: r.executions, successes: r.successes }]))).toEqual(perTaskType);
  });

  it("reports the 10,000 executions through GetStatus after the restarts", async () => {
    const admin = createClient(AdminService, createGrpcTransport({ baseUrl: server?.url ?? "" }));

    expect((await admin.getStatus({})).executionCount).toBe(BigInt(TOTAL));
  });

  it("finished the scenario, restarts and retries included, within its time limit", () => {
    expect(observed.elapsedMs).toBeLessThan(SCENARIO_LIMIT_MS);
  });
});
