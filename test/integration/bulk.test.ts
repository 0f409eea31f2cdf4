import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type DatabasePool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BulkResult, type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { makeExecution, uniqueId } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

const TASK_TYPES = ["bulk_api", "bulk_ui", "bulk_data", "bulk_ops", "bulk_docs"];
const AGENTS = ["ARCHITECT", "CONSTRUCTOR", "DEBUGGER", "TESTBED", "DOCGEN", "DATABASE", "BULK_NEWCOMER"];

/** The i-th execution of an upload: varied task types, teams, outcomes, and exactly summable durations. */
function uploadItem(i: number): Execution {
  const size = 1 + (i % 3);
  const agents = Array.from({ length: size }, (_, k) => AGENTS[(i * 3 + k * 2) % AGENTS.length] as string);
  const success = i % 4 !== 0;
  return makeExecution({
    executionId: uniqueId(`bulk-${i}`),
    taskType: TASK_TYPES[i % TASK_TYPES.length],
    agents,
    complexity: (i % 40) / 4,
    durationSeconds: 1 + (i % 97) * 0.25,
    success,
    errorMessage: success ? "" : `failure kind ${i % 3}`,
    userSatisfaction: i % 5 === 0 ? undefined : 1 + (i % 10),
  });
}

/** A client stream of the given messages. */
async function* stream(messages: Execution[][]): AsyncIterable<{ executions: Execution[] }> {
  for (const executions of messages) yield { executions };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

async function upload(target: TestServer, messages: Execution[][]): Promise<BulkResult> {
  const { result } = await target.learning.recordExecutions(stream(messages));
  if (!result) throw new Error("RecordExecutions answered without a result");
  return result;
}

async function exportAll(target: TestServer): Promise<Execution[]> {
  const out: Execution[] = [];
  for await (const { execution } of target.admin.exportData({})) if (execution) out.push(execution);
  return out;
}

async function executionCount(target: TestServer): Promise<bigint> {
  return (await target.admin.getStatus({})).executionCount;
}

describe("RecordExecutions with 1,200 executions in 3 messages, one invalid, one conflicting, one repeated", () => {
  const items = Array.from({ length: 1200 }, (_, i) => uploadItem(i));
  items[517] = makeExecution({ executionId: uniqueId("bulk-invalid"), complexity: -1 });
  const conflictsWith = items[10] as Execution;
  items[900] = create(ExecutionSchema, { ...conflictsWith, success: !conflictsWith.success, errorMessage: "other content" });
  const repeats = items[20] as Execution;
  items[901] = create(ExecutionSchema, { ...repeats });
  const messages = chunks(items, 400);
  let result: BulkResult;

  beforeAll(async () => {
    result = await upload(server, messages);
  });

  it("counts every item received and stores received − rejected − duplicates = 1,197", async () => {
    expect(result.receivedCount).toBe(1200);
    expect(result.storedCount).toBe(result.receivedCount - result.rejected.length - result.duplicateIds.length);
    expect(result.storedCount).toBe(1197);
    expect(await executionCount(server)).toBe(1197n);
  });

  it("rejects the invalid item by its index in the whole upload, as INVALID_ARGUMENT naming the field", () => {
    expect(result.rejected.find((r) => r.index === 517)).toMatchObject({
      index: 517,
      executionId: items[517]?.executionId,
      code: "INVALID_ARGUMENT",
      field: "complexity",
    });
  });

  it("rejects an earlier id sent again with other content as ALREADY_EXISTS, keeping the first version", async () => {
    expect(result.rejected.find((r) => r.index === 900)).toMatchObject({
      index: 900,
      executionId: conflictsWith.executionId,
      code: "ALREADY_EXISTS",
      field: "execution_id",
    });
    const stored = (await exportAll(server)).find((e) => e.executionId === conflictsWith.executionId);
    expect(stored?.success).toBe(conflictsWith.success);
  });

  it("rejects nothing else", () => {
    expect(result.rejected.map((r) => r.index)).toEqual([517, 900]);
  });

  it("acknowledges an earlier id sent again with identical content as a duplicate", () => {
    expect(result.duplicateIds).toEqual([repeats.executionId]);
  });

  it("stores nothing when the whole upload is sent again, and reports every valid item as a duplicate", async () => {
    const again = await upload(server, messages);

    const valid = items.filter((_, i) => i !== 517 && i !== 900).map((e) => e.executionId);
    expect(again.storedCount).toBe(0);
    expect(again.receivedCount).toBe(1200);
    expect([...again.duplicateIds].sort()).toEqual(valid.sort());
    expect(again.rejected.map((r) => [r.index, r.code])).toEqual([
      [517, "INVALID_ARGUMENT"],
      [900, "ALREADY_EXISTS"],
    ]);
    expect(await executionCount(server)).toBe(1197n);
  });
});

describe("RecordExecutions within one message", () => {
  it("stores an id repeated in the same message once, acknowledging an identical repeat and rejecting a different one", async () => {
    const first = makeExecution({ taskType: "bulk_same_message" });
    const countBefore = await executionCount(server);

    const result = await upload(server, [
      [first, create(ExecutionSchema, { ...first }), create(ExecutionSchema, { ...first, complexity: 9 })],
    ]);

    expect(result.storedCount).toBe(1);
    expect(result.duplicateIds).toEqual([first.executionId]);
    expect(result.rejected).toMatchObject([{ index: 2, executionId: first.executionId, code: "ALREADY_EXISTS" }]);
    expect(await executionCount(server)).toBe(countBefore + 1n);
  });

  it("rejects a message of more than 1,000 executions as INVALID_ARGUMENT and stores none of it", async () => {
    const countBefore = await executionCount(server);

    const error = await upload(server, [Array.from({ length: 1001 }, () => makeExecution({ taskType: "bulk_oversized" }))]).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );

    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.findDetails(BadRequestSchema)[0]?.fieldViolations[0]).toMatchObject({ field: "executions", reason: "TOO_MANY" });
    expect(await executionCount(server)).toBe(countBefore);
  });
});

/** Every row of the aggregate tables, last_recorded_at aside (a time of recording, not of content). */
async function aggregateRows(db: DatabasePool) {
  return {
    taskTypes: await db.any(sql.unsafe`
      SELECT task_type, executions::int, successes::int, duration_sum, log_duration_sum,
        log_duration_sq_sum, complexity_sum
      FROM task_type_stats ORDER BY task_type`),
    agents: await db.any(sql.unsafe`
      SELECT task_type, agent, executions::int, successes::int, duration_sum, log_duration_sum,
        log_duration_sq_sum, complexity_sum
      FROM agent_stats ORDER BY task_type, agent`),
    combinations: await db.any(sql.unsafe`
      SELECT task_type, agent_set, agents, executions::int, successes::int, duration_sum,
        log_duration_sum, log_duration_sq_sum, complexity_sum, satisfaction_sum, satisfaction_count::int
      FROM combination_stats ORDER BY task_type, agent_set`),
    errors: await db.any(sql.unsafe`
      SELECT task_type, agent_set, error_message, occurrences::int
      FROM combination_errors ORDER BY task_type, agent_set, error_message`),
  };
}

/**
 * Floating-point sums depend on the order of addition, and the two servers batch differently, so
 * non-integer figures are compared rounded to 12 significant digits; everything else must be equal.
 */
function approximately(rows: Awaited<ReturnType<typeof aggregateRows>>) {
  const round = (v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v);
  return Object.fromEntries(
    Object.entries(rows).map(([table, list]) => [
      table,
      list.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, round(v)]))),
    ]),
  );
}

describe("ImportData", () => {
  it("reproduces, in a fresh database, the executions and the aggregates an ExportData stream came from", async () => {
    const source = await exportAll(server);
    const target = await startTestServer();
    try {
      const { result } = await target.admin.importData(stream(chunks(source, 1000)));

      expect(result).toMatchObject({ receivedCount: source.length, storedCount: source.length, duplicateIds: [], rejected: [] });
      const withoutRecordedAt = (list: Execution[]) => list.map((e) => create(ExecutionSchema, { ...e, recordedAt: undefined }));
      expect(withoutRecordedAt(await exportAll(target))).toEqual(withoutRecordedAt(source));
      expect(approximately(await aggregateRows(target.db))).toEqual(approximately(await aggregateRows(server.db)));
    } finally {
      await target.stop();
    }
  });
});
