import { create, type JsonObject, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { LearningService, RecordExecutionRequestSchema } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type ExecutionInit, makeExecution } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";

// Hostile text in every text field of the API: SQL metacharacters, dollar quotes, backslashes,
// LIKE wildcards, unicode quotes, null-like words, control and bidi characters, strings at and
// beyond their limits. Whatever a field's rules allow must come back byte for byte (we export it
// and compare); whatever they forbid must be INVALID_ARGUMENT naming the field; nothing may be
// INTERNAL, and every table must still be there at the end.

/** Text that has broken string-built SQL, LIKE patterns, JSON and naive escaping somewhere. */
const HOSTILE = [
  "'; DROP TABLE executions; --",
  "'); DELETE FROM executions WHERE ('1'='1",
  '" OR ""="',
  "' OR '1'='1",
  "$$",
  "$$; DROP TABLE executions; $$",
  "$tag$ select 1 $tag$",
  "$1",
  "\\",
  "\\\\'",
  "\\x27\\0",
  "%",
  "_",
  "%_%\\%",
  "‘’‚‛“”„‟′″＇＂",
  "null",
  "NULL",
  "undefined",
  "None",
  "\\N",
  "0",
  "-1",
  "NaN",
  "true",
  '{"a": [1, {"b": null}]}',
  "E'\\x41'::text",
  "/* comment */ --",
  ";",
  "<script>alert(1)</script>",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell-style lookup, literally
  "${jndi:ldap://example.invalid/a}",
  "🚀🔥 ∑ Ω ß",
  "e\u0301",
  "\u202eright-to-left",
  "\ufeffbom",
  "\u2028\u2029",
  "tab\tnew\nline\rreturn\u0001\u001f\u007f",
  "  spaces around  ",
  "__proto__",
];

/** The text fields of an Execution that take any text up to a length, and how to set and read each. */
const FREE_TEXT_FIELDS: { field: string; max: number; set: (value: string) => ExecutionInit }[] = [
  { field: "execution_id", max: 128, set: (value) => ({ executionId: value }) },
  { field: "task_description", max: 8192, set: (value) => ({ taskDescription: value }) },
  { field: "error_message", max: 4096, set: (value) => ({ success: false, errorMessage: value }) },
  { field: "recommendation_id", max: 128, set: (value) => ({ recommendationId: value }) },
  { field: "model_version", max: 128, set: (value) => ({ modelVersion: value }) },
  {
    field: "resource_usage.metrics",
    max: 64,
    set: (value) => ({ resourceUsage: { cpuPercent: 12.5, memoryMb: 256, metrics: { [value]: 1.25, plain: 2 } } }),
  },
];

const TABLES = [
  "agents",
  "executions",
  "task_type_stats",
  "agent_stats",
  "combination_stats",
  "combination_errors",
  "service_settings",
  "sequence_stats",
  "insights",
  "insight_events",
  "recommendations",
  "analysis_state",
  "model_versions",
  "model_activations",
  "retrain_state",
];

let server: TestServer;
let seq = 0;

beforeAll(async () => {
  server = await startTestServer({
    config: { heartbeatMs: 200, analysisEveryExecutions: 1_000_000_000, retrainEveryExecutions: 1_000_000_000 },
  });
});

afterAll(async () => {
  await server?.stop();
});

/** The content of an execution without recorded_at (set by the server), as proto JSON. */
function contentOf(execution: Execution): JsonObject {
  const json = toJson(ExecutionSchema, execution) as JsonObject;
  delete json.recordedAt;
  return json;
}

/** A valid execution in its own task type, with the given fields overridden. */
function execution(taskType: string, init: ExecutionInit): Execution {
  return makeExecution({ executionId: `inj-${seq++}`, taskType, ...init });
}

async function exported(taskType: string): Promise<Map<string, Execution>> {
  const out = new Map<string, Execution>();
  for await (const { execution } of server.admin.exportData({ taskType })) if (execution) out.set(execution.executionId, execution);
  return out;
}

/** Records over Connect JSON with plain fetch: the hostile text crosses JSON escaping too. */
async function recordAsJson(e: Execution): Promise<{ status: number; code: string | undefined }> {
  const reply = await server.connectJson(
    "agentlearning.v1.LearningService/RecordExecution",
    toJson(RecordExecutionRequestSchema, create(RecordExecutionRequestSchema, { execution: e })),
  );
  return { status: reply.status, code: (reply.body as { code?: string } | undefined)?.code };
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (error === undefined) throw new Error("expected the call to fail, but it succeeded");
  return error;
}

function violatedField(error: ConnectError): string | undefined {
  return error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field;
}

/** The outcome of a call as a code name, so a table of expectations reads plainly. */
async function codeOf(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "OK",
    (e: unknown) => Code[ConnectError.from(e).code],
  );
}

describe("free-text fields keep hostile text verbatim", () => {
  it.each(FREE_TEXT_FIELDS)(
    "stores hostile text in $field over gRPC and Connect JSON, and exports it unchanged",
    async ({ field, set }) => {
      const taskType = `inj_${field.replace(/[^a-z]/g, "_")}`;
      // A metric named "__proto__" has a test of its own below.
      const values = HOSTILE.filter((v) => !(field === "resource_usage.metrics" && v === "__proto__"));
      // Every value at once: each is a separate execution and the claim is about each one alone,
      // not about an order; sent together they share commits instead of waiting for one each.
      const pairs = await Promise.all(
        values.map(async (value) => {
          const viaGrpc = execution(taskType, set(value));
          const viaJson = execution(taskType, set(field === "execution_id" ? `json:${value}` : value));
          const [grpc, json] = await Promise.all([server.learning.recordExecution({ execution: viaGrpc }), recordAsJson(viaJson)]);
          expect(grpc.duplicate).toBe(false);
          expect(contentOf(grpc.execution ?? create(ExecutionSchema))).toEqual(contentOf(viaGrpc));
          expect(json).toEqual({ status: 200, code: undefined });
          return [viaGrpc, viaJson];
        }),
      );
      const sent = pairs.flat();

      const back = await exported(taskType);

      expect(back.size).toBe(sent.length);
      for (const e of sent)
        expect(contentOf(back.get(e.executionId) ?? create(ExecutionSchema)), JSON.stringify(e.executionId)).toEqual(contentOf(e));
    },
  );

  it.each(FREE_TEXT_FIELDS)("acknowledges a re-send of hostile text in $field as a duplicate, counting it once", async ({ field, set }) => {
    const taskType = `inj_resend_${field.replace(/[^a-z]/g, "_")}`;
    const sent = HOSTILE.filter((v) => !(field === "resource_usage.metrics" && v === "__proto__")).map((value) =>
      execution(taskType, set(field === "execution_id" ? `resend:${value}` : value)),
    );
    // The first sends at once too: distinct executions, no order claimed.
    await Promise.all(sent.map((e) => server.learning.recordExecution({ execution: e })));

    const again = await Promise.all(sent.map((e) => server.learning.recordExecution({ execution: e })));

    expect(again.map((r) => r.duplicate)).toEqual(sent.map(() => true));
    const stats = await server.db.oneFirst(
      sql.type(z.object({ executions: z.bigint() }))`SELECT executions FROM task_type_stats WHERE task_type = ${taskType}`,
    );
    expect(stats).toBe(BigInt(sent.length));
  });

  it.each([
    ["gRPC", async (e: Execution) => codeOf(server.learning.recordExecution({ execution: e }))],
    ["Connect JSON", async (e: Execution) => ((await recordAsJson(e)).status === 200 ? "OK" : "rejected")],
  ] as const)(
    "never silently drops a metric named __proto__ sent over %s: it is kept verbatim or the call is rejected",
    async (_via, send) => {
      // The protobuf runtime decodes this key as an own property (binary and JSON alike); what
      // happens to it afterwards is the service's doing.
      const metrics: Record<string, number> = { plain: 2 };
      Object.defineProperty(metrics, "__proto__", { value: 1.25, enumerable: true, configurable: true, writable: true });
      const e = execution("inj_proto_metric", { resourceUsage: { cpuPercent: 1, memoryMb: 1, metrics } });

      const outcome = await send(e);

      if (outcome === "OK") {
        const stored = (await exported("inj_proto_metric")).get(e.executionId)?.resourceUsage?.metrics ?? {};
        expect(Object.keys(stored).sort()).toEqual(["__proto__", "plain"]);
        expect(Object.getOwnPropertyDescriptor(stored, "__proto__")?.value).toBe(1.25);
      } else {
        expect(outcome).not.toBe("Internal");
      }
    },
  );

  it.each(FREE_TEXT_FIELDS)("stores $field at its full length of $max characters of quotes and backslashes", async ({ set, max }) => {
    const taskType = "inj_full_length";
    const value = "'\\$%_".repeat(max).slice(0, max);
    const e = execution(taskType, set(value));

    await server.learning.recordExecution({ execution: e });

    expect(contentOf((await exported(taskType)).get(e.executionId) ?? create(ExecutionSchema))).toEqual(contentOf(e));
  });

  it.each(FREE_TEXT_FIELDS)(
    "rejects $field one character over its limit, and at 64 KB, with INVALID_ARGUMENT naming the field",
    async ({ field, set, max }) => {
      // A connection of its own: should this answer break the connection, no other test suffers.
      const learning = createClient(LearningService, createGrpcTransport({ baseUrl: server.url }));
      for (const value of ["'".repeat(max + 1), "'; DROP TABLE executions; --".repeat(2341)]) {
        const error = await failure(learning.recordExecution({ execution: execution("inj_too_long", set(value)) }));
        expect(error.code).toBe(Code.InvalidArgument);
        expect(violatedField(error)).toContain(`execution.${field}`);
      }
    },
  );

  it.each(FREE_TEXT_FIELDS)("rejects a NUL character in $field with INVALID_ARGUMENT naming the field", async ({ field, set }) => {
    const error = await failure(
      server.learning.recordExecution({ execution: execution("inj_nul", set("a\u0000'; DROP TABLE executions; --")) }),
    );

    expect(error.code).toBe(Code.InvalidArgument);
    expect(violatedField(error)).toContain(`execution.${field}`);
  });

  it.each(FREE_TEXT_FIELDS)("rejects a lone surrogate in $field sent as Connect JSON with INVALID_ARGUMENT", async ({ set }) => {
    expect(await recordAsJson(execution("inj_surrogate", set("x\ud800'")))).toEqual({ status: 400, code: "invalid_argument" });
  });
});

describe("identifier fields accept their alphabet only", () => {
  const allowedTaskTypes = ["drop_table_executions--", "a--", "x.y", "0", "a_b", "a.b", "a-b", "null", "t".repeat(64)];
  const forbiddenTaskTypes = [
    "'; DROP TABLE executions; --",
    "a%b",
    "a'b",
    "_a",
    "-a",
    ".",
    "a b",
    "a;b",
    "a\\b",
    "ä",
    "$$",
    "t".repeat(65),
  ];
  const allowedAgents = ["DROP_TABLE_AGENTS--", "A--", "X.Y", "0", "A_B", "A.B", "NULL", "A".repeat(64)];
  const forbiddenAgents = ["O'BRIEN", "A;B", "-A", "_", "A B", "A%", "A\\B", "Ä", "$$", "A".repeat(65)];

  it.each(allowedTaskTypes)("stores task type %j as sent (lower case) and exports it", async (taskType) => {
    const e = execution(taskType, {});

    await server.learning.recordExecution({ execution: e });

    expect([...(await exported(taskType)).values()].map(contentOf)).toEqual([contentOf(e)]);
  });

  it.each(forbiddenTaskTypes)("rejects task type %j with INVALID_ARGUMENT naming execution.task_type", async (taskType) => {
    const error = await failure(server.learning.recordExecution({ execution: execution(taskType, {}) }));

    expect(error.code).toBe(Code.InvalidArgument);
    expect(violatedField(error)).toBe("execution.task_type");
  });

  it.each(allowedAgents)("stores agent %j as sent and exports it", async (agent) => {
    const e = execution("inj_agents", { agents: [agent, "ARCHITECT"] });

    await server.learning.recordExecution({ execution: e });

    expect((await exported("inj_agents")).get(e.executionId)?.agents).toEqual([agent, "ARCHITECT"]);
  });

  it.each(forbiddenAgents)("rejects agent %j with INVALID_ARGUMENT naming execution.agents[0]", async (agent) => {
    const error = await failure(server.learning.recordExecution({ execution: execution("inj_agents_bad", { agents: [agent] }) }));

    expect(error.code).toBe(Code.InvalidArgument);
    expect(violatedField(error)).toBe("execution.agents[0]");
  });

  it.each([
    ["ß × 33, whose upper case SS… is 66 characters", "ß".repeat(33)],
    ["ﬃ × 64, whose upper case FFI… is 192 characters", "ﬃ".repeat(64)],
  ])("never answers INTERNAL for an agent name that grows past 64 characters when folded to upper case (%s)", async (_name, agent) => {
    const e = execution("inj_agents_fold", { agents: [agent] });

    const code = await codeOf(server.learning.recordExecution({ execution: e }));

    // Either the rule is applied to the folded name (INVALID_ARGUMENT), or the name is stored
    // within the documented limits; a database constraint firing (INTERNAL) is neither.
    expect(["InvalidArgument", "OK"]).toContain(code);
    if (code === "OK") {
      for (const name of (await exported("inj_agents_fold")).get(e.executionId)?.agents ?? []) expect(name.length).toBeLessThanOrEqual(64);
    }
  });

  it("filters the export by task type exactly: '_' and '.' are not wildcards", async () => {
    const family = ["w_x", "wax", "w-x", "w.x", "wbx"];
    const byType = new Map(family.map((t) => [t, execution(t, {})]));
    for (const e of byType.values()) await server.learning.recordExecution({ execution: e });

    for (const [taskType, e] of byType) {
      expect([...(await exported(taskType)).keys()], taskType).toEqual([e.executionId]);
    }
  });

  it.each(["'; DROP TABLE executions; --", "w%x", "%", "_x"])(
    "rejects export task type filter %j with INVALID_ARGUMENT",
    async (taskType) => {
      const error = await failure(
        (async () => {
          for await (const _ of server.admin.exportData({ taskType })) void _;
        })(),
      );

      expect(error.code).toBe(Code.InvalidArgument);
    },
  );
});

describe("queries with hostile filters, tokens and cursors", () => {
  it.each([
    ["an allowed task type", ["drop_table_insights--"], "OK"],
    ["several allowed task types", ["a_b", "a.b", "null"], "OK"],
    ["SQL", ["'; DROP TABLE insights; --"], "InvalidArgument"],
    ["a LIKE pattern", ["%"], "InvalidArgument"],
    ["dollar quotes", ["$$"], "InvalidArgument"],
  ])("ListInsights with task_types holding %s answers %s", async (_name, taskTypes, expected) => {
    expect(await codeOf(server.learning.listInsights({ taskTypes }))).toBe(expected);
  });

  it.each([
    ["an allowed task type", ["drop_table_insights--"], "OK"],
    ["SQL", ["'; DROP TABLE insights; --"], "InvalidArgument"],
    ["a LIKE pattern", ["a%"], "InvalidArgument"],
  ])("StreamInsights with task_types holding %s answers %s", async (_name, taskTypes, expected) => {
    const controller = new AbortController();
    const first = (async () => {
      for await (const message of server.learning.streamInsights({ taskTypes }, { signal: controller.signal })) return message;
      return undefined;
    })();

    const code = await codeOf(first);
    controller.abort();

    expect(code).toBe(expected);
  });

  /** A token in the service's own format (base64url JSON [updated_at_us, insight_id]) with chosen contents. */
  const token = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString("base64url");

  it.each<[string, string]>([
    ...HOSTILE.map((h): [string, string] => [`the raw text ${JSON.stringify(h)}`, h]),
    ["a 64 KB token", "A".repeat(65_536)],
    ["base64 of SQL", Buffer.from("'; DROP TABLE insights; --").toString("base64url")],
    ["base64 of a JSON object", token({ updated_at: 1 })],
    ["base64 of JSON null", token(null)],
    ["a token whose time is SQL", token(["'; DROP TABLE insights; --", "x"])],
    ["a token whose time is negative", token(["-1", "x"])],
  ])("ListInsights rejects a page_token that is %s with INVALID_ARGUMENT", async (_name, pageToken) => {
    const error = await failure(server.learning.listInsights({ pageToken }));

    expect(error.code).toBe(Code.InvalidArgument);
  });

  it.each([
    ["an insight id holding SQL", token(["1", "'; DROP TABLE insights; --"])],
    ["an insight id holding dollar quotes and backslashes", token(["1", "$$\\'%_"])],
    ["an insight id holding a NUL", token(["1", "ins_\u0000"])],
    ["the largest bigint as time", token(["9223372036854775807", "x"])],
    ["a 19-digit time beyond bigint", token(["9999999999999999999", "x"])],
  ])("ListInsights answers a well-formed page_token with %s with OK or INVALID_ARGUMENT, never INTERNAL", async (_name, pageToken) => {
    expect(["OK", "InvalidArgument"]).toContain(await codeOf(server.learning.listInsights({ pageToken })));
  });

  it.each<[string, string]>([
    ...HOSTILE.filter((h) => !/^\d+$/.test(h)).map((h): [string, string] => [JSON.stringify(h), h]),
    ["a cursor beyond bigint", "9999999999999999999"],
    ["a cursor ahead of the feed", "9223372036854775807"],
    ["full-width digits", "１２３"],
    ["an exponent", "1e3"],
  ])("StreamInsights rejects after_cursor %s with INVALID_ARGUMENT", async (_name, afterCursor) => {
    const error = await failure(
      (async () => {
        for await (const _ of server.learning.streamInsights({ afterCursor })) return;
      })(),
    );

    expect(error.code).toBe(Code.InvalidArgument);
  });

  it.each(HOSTILE)("ActivateModel answers NOT_FOUND for version %j", async (version) => {
    expect(await codeOf(server.admin.activateModel({ version }))).toBe("NotFound");
  });

  it.each([
    ["", "empty"],
    ["v\u0000'", "with NUL"],
    ["v".repeat(129), "129 characters"],
  ])("ActivateModel rejects version %j (%s) with INVALID_ARGUMENT", async (version) => {
    expect(await codeOf(server.admin.activateModel({ version }))).toBe("InvalidArgument");
  });

  it.each([
    ["drop_table_executions--", "OK"],
    ["'; DROP TABLE executions; --", "InvalidArgument"],
    ["%", "InvalidArgument"],
  ])("Analyze with task_type %j answers %s", async (taskType, expected) => {
    expect(await codeOf(server.admin.analyze({ taskType }))).toBe(expected);
  });

  it.each(HOSTILE)(
    "PredictAgents and PredictOutcome answer a hostile description %j and allowed hostile names with OK",
    async (description) => {
      const predicted = await server.learning.predictAgents({
        taskType: "drop_table_executions--",
        complexity: 2,
        taskDescription: description,
        requiredAgents: ["DROP_TABLE_AGENTS--"],
        excludedAgents: ["A--"],
      });
      expect(predicted.recommendations.every((r) => r.agents.includes("DROP_TABLE_AGENTS--"))).toBe(true);
      await server.learning.predictOutcome({ taskType: "a_b", complexity: 1, agents: ["X.Y", "NULL"] });
    },
  );

  it.each([
    ["PredictAgents task_type", () => server.learning.predictAgents({ taskType: "'; DROP TABLE executions; --", complexity: 1 })],
    ["PredictAgents required_agents", () => server.learning.predictAgents({ taskType: "web", complexity: 1, requiredAgents: ["O'BRIEN"] })],
    [
      "PredictAgents caller_default_agents",
      () => server.learning.predictAgents({ taskType: "web", complexity: 1, callerDefaultAgents: ["$$"] }),
    ],
    [
      "PredictAgents task_description with NUL",
      () => server.learning.predictAgents({ taskType: "web", complexity: 1, taskDescription: "\u0000" }),
    ],
    ["PredictOutcome agents", () => server.learning.predictOutcome({ taskType: "web", complexity: 1, agents: ["A;DROP"] })],
  ])("rejects hostile text in %s with INVALID_ARGUMENT", async (_name, call) => {
    expect(await codeOf(call())).toBe("InvalidArgument");
  });
});

describe("afterwards", () => {
  it("still has every table, and exactly the executions that were acknowledged", async () => {
    const present = await server.db.anyFirst(
      sql.type(z.object({ name: z.string().nullable() }))`
        SELECT to_regclass(name)::text AS name FROM unnest(${sql.array(TABLES, "text")}::text[]) AS t(name)`,
    );
    expect(present).toEqual(TABLES);
    const counts = await server.db.one(
      sql.type(z.object({ rows: z.bigint(), aggregated: z.bigint() }))`
        SELECT (SELECT count(*) FROM executions)::bigint AS rows,
               (SELECT coalesce(sum(executions), 0) FROM task_type_stats)::bigint AS aggregated`,
    );
    expect(counts.aggregated).toBe(counts.rows);
    expect((await server.admin.getStatus({})).executionCount).toBe(counts.rows);
  });
});
