import { create, fromBinary, toJson } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { makeExecution } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  // One stored execution, so "nothing was stored" is checked against a count that is not zero.
  await server.learning.recordExecution({ execution: makeExecution() });
});

afterAll(async () => {
  await server?.stop();
});

async function executionCount(): Promise<bigint> {
  return (await server.admin.getStatus({})).executionCount;
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (error === undefined) throw new Error("expected the call to fail, but it succeeded");
  return error;
}

/** The first field violation of the BadRequest detail: the one the error message names. */
function firstViolation(error: ConnectError) {
  const [badRequest] = error.findDetails(BadRequestSchema);
  return badRequest?.fieldViolations[0];
}

const times = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i));
const at = (seconds: bigint, nanos = 0) => create(TimestampSchema, { seconds, nanos });

interface Case {
  /** What is wrong, as the test name says it. */
  what: string;
  /** The execution to send; undefined sends a request without one. */
  execution: Execution | undefined;
  field: string;
  reason: string;
}

const cases: Case[] = [
  { what: "a missing execution", execution: undefined, field: "execution", reason: "REQUIRED" },
  { what: "an empty execution_id", execution: makeExecution({ executionId: "" }), field: "execution.execution_id", reason: "EMPTY" },
  {
    what: "an execution_id over 128 characters",
    execution: makeExecution({ executionId: "x".repeat(129) }),
    field: "execution.execution_id",
    reason: "TOO_LONG",
  },
  { what: "an empty task_type", execution: makeExecution({ taskType: "" }), field: "execution.task_type", reason: "EMPTY" },
  {
    what: "a task_type over 64 characters",
    execution: makeExecution({ taskType: "t".repeat(65) }),
    field: "execution.task_type",
    reason: "TOO_LONG",
  },
  {
    what: "a task_type with characters outside [a-z0-9_.-]",
    execution: makeExecution({ taskType: "web development!" }),
    field: "execution.task_type",
    reason: "INVALID_FORMAT",
  },
  {
    what: "a task_type starting with '_'",
    execution: makeExecution({ taskType: "_web" }),
    field: "execution.task_type",
    reason: "INVALID_FORMAT",
  },
  {
    what: "a task_description over 8192 characters",
    execution: makeExecution({ taskDescription: "d".repeat(8193) }),
    field: "execution.task_description",
    reason: "TOO_LONG",
  },
  {
    what: "a negative complexity",
    execution: makeExecution({ complexity: -0.001 }),
    field: "execution.complexity",
    reason: "OUT_OF_RANGE",
  },
  { what: "a NaN complexity", execution: makeExecution({ complexity: Number.NaN }), field: "execution.complexity", reason: "NOT_A_NUMBER" },
  {
    what: "an infinite complexity",
    execution: makeExecution({ complexity: Number.POSITIVE_INFINITY }),
    field: "execution.complexity",
    reason: "NOT_FINITE",
  },
  {
    what: "a complexity above 10",
    execution: makeExecution({ complexity: 10.001 }),
    field: "execution.complexity",
    reason: "OUT_OF_RANGE",
  },
  {
    what: "a negative duration",
    execution: makeExecution({ durationSeconds: -1 }),
    field: "execution.duration_seconds",
    reason: "OUT_OF_RANGE",
  },
  {
    what: "a NaN duration",
    execution: makeExecution({ durationSeconds: Number.NaN }),
    field: "execution.duration_seconds",
    reason: "NOT_A_NUMBER",
  },
  {
    what: "an infinite duration",
    execution: makeExecution({ durationSeconds: Number.POSITIVE_INFINITY }),
    field: "execution.duration_seconds",
    reason: "NOT_FINITE",
  },
  {
    what: "a duration over one year",
    execution: makeExecution({ durationSeconds: 31_536_000.5 }),
    field: "execution.duration_seconds",
    reason: "OUT_OF_RANGE",
  },
  {
    what: "a user_satisfaction of 0",
    execution: makeExecution({ userSatisfaction: 0 }),
    field: "execution.user_satisfaction",
    reason: "OUT_OF_RANGE",
  },
  {
    what: "a user_satisfaction of 11",
    execution: makeExecution({ userSatisfaction: 11 }),
    field: "execution.user_satisfaction",
    reason: "OUT_OF_RANGE",
  },
  { what: "an empty agent list", execution: makeExecution({ agents: [] }), field: "execution.agents", reason: "EMPTY" },
  {
    what: "the same agent twice, in different case",
    execution: makeExecution({ agents: ["a", "A"] }),
    field: "execution.agents[1]",
    reason: "DUPLICATE",
  },
  {
    what: "65 agents",
    execution: makeExecution({ agents: times(65, (i) => `AGENT_${i}`) }),
    field: "execution.agents",
    reason: "TOO_MANY",
  },
  {
    what: "an agent name over 64 characters",
    execution: makeExecution({ agents: ["ARCHITECT", "A".repeat(65)] }),
    field: "execution.agents[1]",
    reason: "TOO_LONG",
  },
  {
    what: "an agent name with a space",
    execution: makeExecution({ agents: ["LEAD ENGINEER"] }),
    field: "execution.agents[0]",
    reason: "INVALID_FORMAT",
  },
  {
    what: "an error_message over 4096 characters",
    execution: makeExecution({ success: false, errorMessage: "e".repeat(4097) }),
    field: "execution.error_message",
    reason: "TOO_LONG",
  },
  {
    what: "a string containing NUL",
    execution: makeExecution({ taskDescription: "before\u0000after" }),
    field: "execution.task_description",
    reason: "INVALID_CHARACTER",
  },
  {
    what: "a recommendation_id over 128 characters",
    execution: makeExecution({ recommendationId: "r".repeat(129) }),
    field: "execution.recommendation_id",
    reason: "TOO_LONG",
  },
  {
    what: "finished_at before started_at",
    execution: makeExecution({ startedAt: at(1_700_000_010n), finishedAt: at(1_700_000_009n, 999_999_999) }),
    field: "execution.finished_at",
    reason: "BEFORE_START",
  },
  {
    what: "a timestamp after year 9999",
    execution: makeExecution({ startedAt: at(253_402_300_800n) }),
    field: "execution.started_at",
    reason: "OUT_OF_RANGE",
  },
  {
    what: "a metric value that is NaN",
    execution: makeExecution({ resourceUsage: { metrics: { tokens: Number.NaN } } }),
    field: "execution.resource_usage.metrics.tokens",
    reason: "NOT_A_NUMBER",
  },
  {
    what: "an infinite metric value",
    execution: makeExecution({ resourceUsage: { metrics: { tokens: Number.NEGATIVE_INFINITY } } }),
    field: "execution.resource_usage.metrics.tokens",
    reason: "NOT_FINITE",
  },
  {
    what: "an infinite metric value under a camelCase name",
    execution: makeExecution({ resourceUsage: { metrics: { tokensIn: Number.POSITIVE_INFINITY } } }),
    field: "execution.resource_usage.metrics.tokensIn",
    reason: "NOT_FINITE",
  },
  {
    what: "a metric name that is empty",
    execution: makeExecution({ resourceUsage: { metrics: { "": 1 } } }),
    field: "execution.resource_usage.metrics",
    reason: "INVALID_NAME",
  },
  {
    what: "more than 64 metrics",
    execution: makeExecution({ resourceUsage: { metrics: Object.fromEntries(times(65, (i) => `m${i}`).map((k) => [k, 1])) } }),
    field: "execution.resource_usage.metrics",
    reason: "TOO_MANY",
  },
  {
    what: "a negative cpu_percent",
    execution: makeExecution({ resourceUsage: { cpuPercent: -1 } }),
    field: "execution.resource_usage.cpu_percent",
    reason: "OUT_OF_RANGE",
  },
  {
    what: "a cpu_percent over 100,000",
    execution: makeExecution({ resourceUsage: { cpuPercent: 100_000.5 } }),
    field: "execution.resource_usage.cpu_percent",
    reason: "OUT_OF_RANGE",
  },
  {
    what: "a negative memory_mb",
    execution: makeExecution({ resourceUsage: { memoryMb: -0.5 } }),
    field: "execution.resource_usage.memory_mb",
    reason: "OUT_OF_RANGE",
  },
];

describe("RecordExecution validation", () => {
  // Tuples rather than objects: vitest shortens $name interpolations, and these names are the spec.
  const rows = cases.map((c) => [c.what, c.field, c.reason, c.execution] as const);
  it.each(rows)("rejects %s with INVALID_ARGUMENT naming %s (%s), storing nothing", async (_what, field, reason, execution) => {
    const countBefore = await executionCount();

    const error = await failure(server.learning.recordExecution({ execution }));

    expect(error.code).toBe(Code.InvalidArgument);
    expect(firstViolation(error)).toMatchObject({ field, reason });
    expect(error.rawMessage).toContain(field);
    expect(await executionCount()).toBe(countBefore);
  });

  it("reports every violation of an execution, not only the first", async () => {
    const error = await failure(
      server.learning.recordExecution({ execution: makeExecution({ complexity: -1, durationSeconds: -1, agents: [] }) }),
    );

    const [badRequest] = error.findDetails(BadRequestSchema);
    expect(badRequest?.fieldViolations.map((v) => v.field).sort()).toEqual([
      "execution.agents",
      "execution.complexity",
      "execution.duration_seconds",
    ]);
  });

  it("accepts the limits themselves: 128-character id, 64-character task type, complexity 0 and 10, 64 agents, 64 metrics", async () => {
    const execution = makeExecution({
      executionId: `limits-${"i".repeat(121)}`,
      taskType: "t".repeat(64),
      complexity: 10,
      agents: times(64, (i) => `LIMIT_AGENT_${i}`),
      durationSeconds: 31_536_000,
      userSatisfaction: 10,
      resourceUsage: { cpuPercent: 100_000, metrics: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`m${i}`, i])) },
    });

    const { duplicate } = await server.learning.recordExecution({ execution });
    const { duplicate: zeroDuplicate } = await server.learning.recordExecution({
      execution: makeExecution({ complexity: 0, durationSeconds: 0, userSatisfaction: 1 }),
    });

    expect([duplicate, zeroDuplicate]).toEqual([false, false]);
  });
});

describe("ExportData validation", () => {
  it("rejects a malformed task_type filter as INVALID_ARGUMENT naming task_type", async () => {
    const drain = async () => {
      for await (const _ of server.admin.exportData({ taskType: "not a task type!" })) {
        // nothing is expected to arrive
      }
    };

    const error = await failure(drain());

    expect(error.code).toBe(Code.InvalidArgument);
    expect(firstViolation(error)).toMatchObject({ field: "task_type", reason: "INVALID_FORMAT" });
  });
});

/** The Connect JSON error body and its decoded BadRequest detail. */
function connectError(body: unknown) {
  const error = body as { code?: string; message?: string; details?: { type?: string; value?: string }[] };
  const detail = error.details?.find((d) => d.type === "google.rpc.BadRequest");
  const badRequest = detail?.value === undefined ? undefined : fromBinary(BadRequestSchema, Buffer.from(detail.value, "base64"));
  return { code: error.code, message: error.message, violation: badRequest?.fieldViolations[0] };
}

describe("validation over Connect JSON (plain fetch, HTTP/1.1)", () => {
  const record = (execution: unknown) => server.connectJson("agentlearning.v1.LearningService/RecordExecution", { execution });

  it("answers HTTP 400 with code invalid_argument and the BadRequest detail naming the field", async () => {
    const countBefore = await executionCount();

    const reply = await record(toJson(ExecutionSchema, makeExecution({ complexity: 11 })));

    expect(reply.status).toBe(400);
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    const error = connectError(reply.body);
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("execution.complexity");
    expect(error.violation).toMatchObject({ field: "execution.complexity", reason: "OUT_OF_RANGE" });
    expect(await executionCount()).toBe(countBefore);
  });

  it('rejects NaN sent as the JSON string "NaN" naming the field', async () => {
    const execution = { ...(toJson(ExecutionSchema, makeExecution()) as Record<string, unknown>), complexity: "NaN" };

    const reply = await record(execution);

    expect(reply.status).toBe(400);
    expect(connectError(reply.body)).toMatchObject({ code: "invalid_argument", violation: { field: "execution.complexity" } });
  });

  // Only JSON can carry a lone surrogate (as a \ud800 escape): binary clients must encode
  // strings as UTF-8, which has no such thing. The JSON decoder refuses it before validation.
  it("rejects a string holding a lone UTF-16 surrogate, which PostgreSQL would alter, naming the field", async () => {
    const execution = { ...(toJson(ExecutionSchema, makeExecution()) as Record<string, unknown>), errorMessage: "bad \uD800 text" };
    const countBefore = await executionCount();

    const reply = await record(execution);

    expect(reply.status).toBe(400);
    const error = connectError(reply.body);
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("error_message");
    expect(await executionCount()).toBe(countBefore);
  });
});
