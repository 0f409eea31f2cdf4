import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampMs, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { makeExecution, uniqueId } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

/** A task type no other test in this file uses, so its aggregates belong to one test alone. */
function freshTaskType(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

async function executionCount(): Promise<bigint> {
  return (await server.admin.getStatus({})).executionCount;
}

async function exported(taskType: string): Promise<Execution[]> {
  const out: Execution[] = [];
  for await (const response of server.admin.exportData({ taskType })) {
    if (response.execution) out.push(response.execution);
  }
  return out;
}

/** The running aggregates of one task type as stored: executions (and successes) per row. */
async function aggregates(taskType: string) {
  const taskTypeRows = await server.db.any(sql.unsafe`
    SELECT executions::int AS executions, successes::int AS successes
    FROM task_type_stats WHERE task_type = ${taskType}`);
  const agentRows = await server.db.any(sql.unsafe`
    SELECT agent, executions::int AS executions, successes::int AS successes
    FROM agent_stats WHERE task_type = ${taskType} ORDER BY agent`);
  const combinationRows = await server.db.any(sql.unsafe`
    SELECT agent_set, executions::int AS executions, successes::int AS successes
    FROM combination_stats WHERE task_type = ${taskType} ORDER BY agent_set`);
  return { taskType: taskTypeRows, agents: agentRows, combinations: combinationRows };
}

/** Runs `work` over `items` with at most `limit` calls in flight at once. */
async function withConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

/** A small deterministic generator, so a failing run can be replayed exactly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("RecordExecution", () => {
  it("returns the execution normalised: task type in lower case, agents in upper case in their order, recorded_at set", async () => {
    const before = Date.now();
    const taskType = freshTaskType("Web_Development");
    const sent = makeExecution({ taskType: taskType.toUpperCase(), agents: ["debugger", "Architect", "CONSTRUCTOR"] });

    const { execution, duplicate } = await server.learning.recordExecution({ execution: sent });
    const after = Date.now();

    expect(duplicate).toBe(false);
    expect(execution?.executionId).toBe(sent.executionId);
    expect(execution?.taskType).toBe(taskType.toLowerCase());
    expect(execution?.agents).toEqual(["DEBUGGER", "ARCHITECT", "CONSTRUCTOR"]);
    expect(execution?.recordedAt).toBeDefined();
    const recordedAtMs = timestampMs(execution!.recordedAt!);
    expect(recordedAtMs).toBeGreaterThanOrEqual(before - 1);
    expect(recordedAtMs).toBeLessThanOrEqual(after + 1);
  });

  it("exports a recorded execution exactly as RecordExecution returned it", async () => {
    const taskType = freshTaskType("export");
    const { execution } = await server.learning.recordExecution({
      execution: makeExecution({
        taskType,
        agents: ["tester", "architect"],
        success: false,
        errorMessage: "timeout in step 3",
        userSatisfaction: 4,
        recommendationId: "rec-1",
        modelVersion: "m-7",
        startedAt: create(TimestampSchema, { seconds: 1_700_000_000n, nanos: 5_000 }),
        finishedAt: create(TimestampSchema, { seconds: 1_700_000_042n, nanos: 250_000_000 }),
      }),
    });

    expect(await exported(taskType)).toEqual([execution]);
  });

  it("acknowledges a re-sent execution as a duplicate and counts it once", async () => {
    const taskType = freshTaskType("resend");
    const sent = makeExecution({ taskType, agents: ["ARCHITECT", "CONSTRUCTOR", "TESTBED"] });
    const countBefore = await executionCount();

    const first = await server.learning.recordExecution({ execution: sent });
    const second = await server.learning.recordExecution({ execution: sent });

    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.execution).toEqual(first.execution);
    expect(await executionCount()).toBe(countBefore + 1n);
    expect(await aggregates(taskType)).toEqual({
      taskType: [{ executions: 1, successes: 1 }],
      agents: [
        { agent: "ARCHITECT", executions: 1, successes: 1 },
        { agent: "CONSTRUCTOR", executions: 1, successes: 1 },
        { agent: "TESTBED", executions: 1, successes: 1 },
      ],
      combinations: [{ agent_set: "ARCHITECT,CONSTRUCTOR,TESTBED", executions: 1, successes: 1 }],
    });
  });

  it("treats a re-send that differs only in the letter case of its names as the same execution", async () => {
    const taskType = freshTaskType("case");
    const sent = makeExecution({ taskType, agents: ["ARCHITECT", "DOCGEN"] });
    await server.learning.recordExecution({ execution: sent });

    const again = await server.learning.recordExecution({
      execution: { ...sent, taskType: taskType.toUpperCase(), agents: ["architect", "DocGen"] },
    });

    expect(again.duplicate).toBe(true);
  });

  it("rejects the same id with different content as ALREADY_EXISTS and changes nothing", async () => {
    const taskType = freshTaskType("conflict");
    const original = makeExecution({ taskType, success: true });
    const { execution: stored } = await server.learning.recordExecution({ execution: original });
    const aggregatesBefore = await aggregates(taskType);
    const countBefore = await executionCount();

    const error = await server.learning.recordExecution({ execution: { ...original, success: false, errorMessage: "it broke" } }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );

    expect(error?.code).toBe(Code.AlreadyExists);
    expect(error?.rawMessage).toContain(original.executionId);
    expect(await exported(taskType)).toEqual([stored]);
    expect(await executionCount()).toBe(countBefore);
    expect(await aggregates(taskType)).toEqual(aggregatesBefore);
  });

  it("keeps timestamps to the microsecond, dropping only the nanoseconds PostgreSQL cannot hold", async () => {
    const taskType = freshTaskType("nanos");
    const { execution } = await server.learning.recordExecution({
      execution: makeExecution({
        taskType,
        startedAt: create(TimestampSchema, { seconds: 1_700_000_000n, nanos: 123_456_789 }),
        finishedAt: create(TimestampSchema, { seconds: 1_700_000_100n, nanos: 999_999_999 }),
      }),
    });

    const expected = {
      startedAt: { seconds: 1_700_000_000n, nanos: 123_456_000 },
      finishedAt: { seconds: 1_700_000_100n, nanos: 999_999_000 },
    };
    expect(execution).toMatchObject(expected);
    expect((await exported(taskType))[0]).toMatchObject(expected);
  });

  it("keeps timestamps before 1970 exact, down to year 1", async () => {
    const taskType = freshTaskType("ancient");
    const { execution } = await server.learning.recordExecution({
      execution: makeExecution({
        taskType,
        startedAt: create(TimestampSchema, { seconds: -62_135_596_800n, nanos: 0 }),
        finishedAt: create(TimestampSchema, { seconds: -1n, nanos: 999_999_999 }),
      }),
    });

    const expected = {
      startedAt: { seconds: -62_135_596_800n, nanos: 0 },
      finishedAt: { seconds: -1n, nanos: 999_999_000 },
    };
    expect(execution).toMatchObject(expected);
    expect((await exported(taskType))[0]).toMatchObject(expected);
  });

  it("round-trips resource usage: cpu, memory and every metric value bit for bit", async () => {
    const taskType = freshTaskType("usage");
    const resourceUsage = {
      cpuPercent: 250.5,
      memoryMb: 1024.75,
      metrics: {
        tokens_in: 1200,
        cost_usd: 0.1 + 0.2,
        "latency.p99-ms": -1.5e-10,
        huge: 1.7976931348623157e308,
        tiny: 5e-324,
        zero: 0,
      },
    };

    const { execution } = await server.learning.recordExecution({ execution: makeExecution({ taskType, resourceUsage }) });

    const [fromExport] = await exported(taskType);
    for (const usage of [execution?.resourceUsage, fromExport?.resourceUsage]) {
      expect(usage).toMatchObject({ cpuPercent: resourceUsage.cpuPercent, memoryMb: resourceUsage.memoryMb });
      expect(usage?.metrics).toEqual(resourceUsage.metrics);
    }
  });

  it("registers an agent seen for the first time in the catalog, next to the 40 seeded ones", async () => {
    const newcomer = `NEWCOMER_${randomBytes(4).toString("hex").toUpperCase()}`;
    const total = () => server.db.oneFirst(sql.unsafe`SELECT count(*)::int FROM agents`);
    const before = await total();

    await server.learning.recordExecution({ execution: makeExecution({ agents: ["ARCHITECT", newcomer.toLowerCase()] }) });

    expect(await server.db.oneFirst(sql.unsafe`SELECT count(*)::int FROM agents WHERE from_catalog`)).toBe(40);
    expect(await total()).toBe(before + 1);
    expect(await server.db.one(sql.unsafe`SELECT name, category, from_catalog FROM agents WHERE name = ${newcomer}`)).toEqual({
      name: newcomer,
      category: "uncategorized",
      from_catalog: false,
    });
    expect((await server.admin.getStatus({})).agentCount).toBe(BigInt(before + 1));
  });

  it("stores 200 executions sent concurrently across 10 task types with exactly matching aggregates", async () => {
    const prefix = freshTaskType("burst");
    const taskTypes = Array.from({ length: 10 }, (_, i) => `${prefix}_${i}`);
    // Catalog agents and two newcomers, which concurrent calls race to register.
    const pool = [
      "ARCHITECT",
      "CONSTRUCTOR",
      "DEBUGGER",
      "TESTBED",
      "DOCGEN",
      "SECURITY",
      `${prefix}_A`.toUpperCase(),
      `${prefix}_B`.toUpperCase(),
    ];
    const random = seededRandom(20_240_601);
    const executions = Array.from({ length: 200 }, (_, i) => {
      const team = [...pool].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 4));
      return makeExecution({
        taskType: taskTypes[i % taskTypes.length],
        agents: team,
        success: random() < 0.7,
        durationSeconds: Math.floor(random() * 200) / 2,
        complexity: Math.floor(random() * 40) / 4,
      });
    });

    const responses = await withConcurrency(executions, 16, (execution) => server.learning.recordExecution({ execution }));

    expect(responses.filter((r) => r.duplicate)).toHaveLength(0);
    const expected = { taskTypes: new Map<string, string>(), agents: new Map<string, string>(), combinations: new Map<string, string>() };
    const bump = (map: Map<string, string>, key: string, success: boolean, duration: number) => {
      const [n, s, d] = (map.get(key) ?? "0/0/0").split("/").map(Number) as [number, number, number];
      map.set(key, `${n + 1}/${s + (success ? 1 : 0)}/${d + duration}`);
    };
    for (const e of executions) {
      bump(expected.taskTypes, e.taskType, e.success, e.durationSeconds);
      for (const agent of e.agents) bump(expected.agents, `${e.taskType} ${agent}`, e.success, e.durationSeconds);
      bump(expected.combinations, `${e.taskType} ${[...e.agents].sort().join(",")}`, e.success, e.durationSeconds);
    }
    const stored = async (query: ReturnType<typeof sql.unsafe>) =>
      new Map((await server.db.any(query)).map((row) => [String(row.key), String(row.figures)]));
    const like = `${prefix}\\_%`;
    expect(await server.db.oneFirst(sql.unsafe`SELECT count(*)::int FROM executions WHERE task_type LIKE ${like}`)).toBe(200);
    expect(
      await stored(sql.unsafe`
        SELECT task_type AS key, executions || '/' || successes || '/' || duration_sum AS figures
        FROM task_type_stats WHERE task_type LIKE ${like}`),
    ).toEqual(expected.taskTypes);
    expect(
      await stored(sql.unsafe`
        SELECT task_type || ' ' || agent AS key, executions || '/' || successes || '/' || duration_sum AS figures
        FROM agent_stats WHERE task_type LIKE ${like}`),
    ).toEqual(expected.agents);
    expect(
      await stored(sql.unsafe`
        SELECT task_type || ' ' || agent_set AS key, executions || '/' || successes || '/' || duration_sum AS figures
        FROM combination_stats WHERE task_type LIKE ${like}`),
    ).toEqual(expected.combinations);
  });

  it("stores an execution once when 50 identical copies arrive at the same time, and acknowledges every copy", async () => {
    const taskType = freshTaskType("stampede");
    const sent = makeExecution({ taskType, executionId: uniqueId("stampede") });
    const countBefore = await executionCount();

    const responses = await Promise.all(Array.from({ length: 50 }, () => server.learning.recordExecution({ execution: sent })));

    expect(responses.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(responses.map((r) => timestampMs(r.execution!.recordedAt!))).size).toBe(1);
    expect(await executionCount()).toBe(countBefore + 1n);
    expect((await aggregates(taskType)).taskType).toEqual([{ executions: 1, successes: 1 }]);
  });
});
