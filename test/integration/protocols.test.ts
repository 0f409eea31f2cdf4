import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { LearningService, RecordExecutionResponseSchema } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { makeExecution, uniqueId } from "../support/executions.js";
import { createGrpcJsClient, type GrpcJsClient, grpc, isServiceError, type PlainMessage } from "../support/grpc-js-client.js";
import { startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const bufBinary = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

let server: TestServer;
let grpcJs: GrpcJsClient;

beforeAll(async () => {
  server = await startTestServer();
  grpcJs = createGrpcJsClient(server.url);
});

afterAll(async () => {
  grpcJs?.close();
  await server?.stop();
});

async function exportTaskType(transport: Transport, taskType: string): Promise<Execution[]> {
  const out: Execution[] = [];
  for await (const { execution } of createClient(AdminService, transport).exportData({ taskType })) if (execution) out.push(execution);
  return out;
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (error === undefined) throw new Error("expected the call to fail, but it succeeded");
  return error;
}

async function buf(...args: string[]): Promise<string> {
  const { stdout } = await run(bufBinary, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 20_000 });
  return stdout;
}

describe("one port, every protocol", () => {
  const transports: [string, (baseUrl: string) => Transport][] = [
    ["gRPC over HTTP/2", (baseUrl) => createGrpcTransport({ baseUrl })],
    ["gRPC-Web over HTTP/1.1", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
    ["gRPC-Web over HTTP/2", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" })],
    ["Connect over HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
    ["Connect over HTTP/2", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" })],
    ["Connect JSON over HTTP/1.1", (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ];

  it.each(transports)("records an execution and streams it back over %s", async (_name, makeTransport) => {
    const transport = makeTransport(server.url);
    const taskType = `Proto_${uniqueId("t").slice(-8)}`;

    const { execution, duplicate } = await createClient(LearningService, transport).recordExecution({
      execution: makeExecution({ taskType, agents: ["architect", "Constructor"] }),
    });

    expect(duplicate).toBe(false);
    expect(execution).toMatchObject({ taskType: taskType.toLowerCase(), agents: ["ARCHITECT", "CONSTRUCTOR"] });
    expect(execution?.recordedAt).toBeDefined();
    expect(await exportTaskType(transport, taskType.toLowerCase())).toEqual([execution]);
  });

  it("records an execution sent as Connect JSON by plain fetch, answering with the normalised execution", async () => {
    const executionId = uniqueId("fetch");
    const taskType = `Fetch_${executionId.slice(-8)}`;

    const reply = await server.connectJson("agentlearning.v1.LearningService/RecordExecution", {
      execution: { executionId, taskType, complexity: 2.5, agents: ["docgen", "Architect"], durationSeconds: 3, success: true },
    });

    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(reply.body).toMatchObject({
      execution: {
        executionId,
        taskType: taskType.toLowerCase(),
        agents: ["DOCGEN", "ARCHITECT"],
        complexity: 2.5,
        durationSeconds: 3,
        success: true,
      },
    });
    expect((reply.body as { execution: { recordedAt?: unknown } }).execution.recordedAt).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
    );
    const decoded = fromJson(RecordExecutionResponseSchema, reply.body as never);
    expect(await exportTaskType(createGrpcTransport({ baseUrl: server.url }), taskType.toLowerCase())).toEqual([decoded.execution]);
  });
});

describe("an independent client (@grpc/grpc-js with protobufjs)", () => {
  it("records an execution and gets it back normalised", async () => {
    const executionId = uniqueId("grpcjs");

    const response = await grpcJs.unary("learning", "RecordExecution", {
      execution: {
        executionId,
        taskType: "Grpc_JS",
        complexity: 2.5,
        agents: ["tester", "Architect"],
        durationSeconds: 3.25,
        success: false,
        errorMessage: "boom",
        userSatisfaction: 7,
        startedAt: { seconds: "1700000000", nanos: 123_456_789 },
        resourceUsage: { cpuPercent: 12.5, memoryMb: 64, metrics: { tokens: 12 } },
      },
    });

    expect(response).toMatchObject({
      duplicate: false,
      execution: {
        executionId,
        taskType: "grpc_js",
        agents: ["TESTER", "ARCHITECT"],
        complexity: 2.5,
        durationSeconds: 3.25,
        success: false,
        errorMessage: "boom",
        userSatisfaction: 7,
        startedAt: { seconds: "1700000000", nanos: 123_456_000 },
        resourceUsage: { cpuPercent: 12.5, memoryMb: 64, metrics: { tokens: 12 } },
      },
    });
    expect(Number((response.execution as { recordedAt: { seconds: string } }).recordedAt.seconds)).toBeGreaterThan(1_700_000_000);
  });

  it("reads GetStatus with the same figures the generated client sees", async () => {
    const status = await grpcJs.unary("admin", "GetStatus", {});
    const reference = await server.admin.getStatus({});

    expect(status).toMatchObject({
      databaseReady: true,
      schemaVersion: reference.schemaVersion,
      executionCount: reference.executionCount.toString(),
      agentCount: reference.agentCount.toString(),
      learningMode: "LEARNING_MODE_ADAPTIVE",
      learningEnabled: true,
    });
  });

  it("streams recorded executions back through ExportData", async () => {
    const taskType = `grpcjs_export_${uniqueId("x").slice(-8)}`;
    const sent = [makeExecution({ taskType }), makeExecution({ taskType })];
    for (const execution of sent) await server.learning.recordExecution({ execution });

    const messages = await grpcJs.serverStream("admin", "ExportData", { taskType });

    expect(messages.map((m) => (m.execution as PlainMessage).executionId)).toEqual(sent.map((e) => e.executionId));
  });

  it("sees INVALID_ARGUMENT with the field named and the rich status attached", async () => {
    const error = await grpcJs
      .unary("learning", "RecordExecution", {
        execution: { executionId: uniqueId("bad"), taskType: "t", complexity: -1, agents: ["A"], durationSeconds: 1 },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect(isServiceError(error)).toBe(true);
    if (!isServiceError(error)) return;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toContain("execution.complexity");
    expect(error.metadata.get("grpc-status-details-bin")).toHaveLength(1);
  });
});

describe("discovery with buf curl (reflection)", () => {
  it.each(["grpc-v1", "grpc-v1alpha"])("lists the API, health and both reflection services through %s", async (protocol) => {
    const listed = (await buf("--reflect-protocol", protocol, "--list-services", server.url)).trim().split("\n").sort();

    expect(listed).toEqual([
      "agentlearning.v1.AdminService",
      "agentlearning.v1.LearningService",
      "agentlearning.v1.ReportService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  it("calls AdminService/GetStatus from the reflected schema alone and prints JSON", async () => {
    const output = await buf("-d", "{}", `${server.url}/agentlearning.v1.AdminService/GetStatus`);

    expect(JSON.parse(output)).toMatchObject({ databaseReady: true, learningMode: "LEARNING_MODE_ADAPTIVE", learningEnabled: true });
  });
});

describe("grpc.health.v1.Health", () => {
  const health = () => createClient(Health, createGrpcTransport({ baseUrl: server.url }));

  it.each(["", "agentlearning.v1.LearningService", "agentlearning.v1.AdminService"])(
    "answers Check on %j with SERVING",
    async (service) => {
      expect((await health().check({ service })).status).toBe(ServingStatus.SERVING);
    },
  );

  it("answers Check on an unknown service with NOT_FOUND", async () => {
    const error = await failure(health().check({ service: "nope" }));

    expect(error.code).toBe(Code.NotFound);
  });
});
