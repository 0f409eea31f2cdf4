import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_descriptor,
} from "@bufbuild/protobuf/wkt";
import { createClient, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { HealthRegistry, registerHealth } from "../../src/server/health.js";
import { registerReflection } from "../../src/server/reflection.js";

const run = promisify(execFile);
const buf = resolve(import.meta.dirname, "../../node_modules/.bin/buf");
const reflectionServices = [v1.ServerReflection, v1alpha.ServerReflection, Health];

/** A real h2c server on an ephemeral port, with health, reflection over `services`, and the services themselves. */
async function startServer(services: DescService[]) {
  const health = new HealthRegistry(services.map((service) => service.typeName));
  health.setServing(true);
  const routes = (router: ConnectRouter): void => {
    registerHealth(router, health);
    registerReflection(router, [...services, ...reflectionServices]);
    // Every method is left out, so the router answers each with Code.Unimplemented: they exist only to be reflected.
    for (const service of services) router.service(service, {});
  };
  const server: Http2Server = createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (session) => sessions.add(session));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async (): Promise<void> => {
    for (const session of sessions) session.destroy();
    await new Promise((done) => server.close(done));
  };
  return { url, close };
}

function bufCurl(...args: string[]) {
  return run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 30_000 });
}

type AlphaRequest = MessageInitShape<typeof v1alpha.ServerReflectionRequestSchema>;
type V1Request = MessageInitShape<typeof v1.ServerReflectionRequestSchema>;

/** Sends each request on ONE stream only after the previous one was answered, as an interactive client does. */
async function converse<Req, Res>(call: (requests: AsyncIterable<Req>) => AsyncIterable<Res>, requests: Req[]): Promise<Res[]> {
  const responses: Res[] = [];
  let wake = (): void => {};
  async function* send(): AsyncGenerator<Req> {
    for (const [i, request] of requests.entries()) {
      while (responses.length < i) await new Promise<void>((done) => (wake = done));
      yield request;
    }
  }
  for await (const response of call(send())) {
    responses.push(response);
    wake();
  }
  return responses;
}

function alphaSession(url: string, requests: AlphaRequest[]) {
  const client = createClient(v1alpha.ServerReflection, createGrpcTransport({ baseUrl: url }));
  const messages = requests.map((r) => create(v1alpha.ServerReflectionRequestSchema, r));
  return converse((stream) => client.serverReflectionInfo(stream), messages);
}

function v1Session(url: string, requests: V1Request[]) {
  const client = createClient(v1.ServerReflection, createGrpcTransport({ baseUrl: url }));
  const messages = requests.map((r) => create(v1.ServerReflectionRequestSchema, r));
  return converse((stream) => client.serverReflectionInfo(stream), messages);
}

function fileNames(response: v1.ServerReflectionResponse | v1alpha.ServerReflectionResponse | undefined): string[] {
  if (response?.messageResponse.case !== "fileDescriptorResponse") throw new Error(`no files in ${String(response?.messageResponse.case)}`);
  return response.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}

function errorCode(response: v1.ServerReflectionResponse | v1alpha.ServerReflectionResponse | undefined): number | undefined {
  return response?.messageResponse.case === "errorResponse" ? response.messageResponse.value.errorCode : undefined;
}

describe("reflection over the agentlearning API", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer([LearningService, AdminService]);
  });
  afterAll(() => server.close());

  test("buf curl lists our services, health and both reflection versions", async () => {
    const { stdout } = await bufCurl("--list-services", server.url);
    expect(stdout.trim().split("\n").sort()).toEqual([
      "agentlearning.v1.AdminService",
      "agentlearning.v1.LearningService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  test("buf curl calls Health/Check with a JSON body using descriptors it fetched by reflection", async () => {
    const { stdout } = await bufCurl("-d", "{}", `${server.url}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
  });

  test("buf curl resolves an agentlearning method and its well-known-type dependencies over v1alpha", async () => {
    const call = bufCurl(
      "--reflect-protocol",
      "grpc-v1alpha",
      "-d",
      "{}",
      `${server.url}/agentlearning.v1.LearningService/RecordExecution`,
    );
    // The request was encoded, so the schema resolved; the server then answers as registered: unimplemented.
    const stderr = await call.then(
      () => "",
      (error: { stderr: string }) => error.stderr,
    );
    expect(JSON.parse(stderr)).toEqual({
      code: "unimplemented",
      message: "agentlearning.v1.LearningService.RecordExecution is not implemented",
    });
  });

  test("buf curl lists the methods of a service", async () => {
    const { stdout } = await bufCurl("--list-methods", server.url);
    expect(stdout).toContain("agentlearning.v1.AdminService/ExportData");
    expect(stdout).toContain("grpc.health.v1.Health/Watch");
  });

  test("list_services names each service once even when callers pass reflection and health themselves", async () => {
    const [response] = await v1Session(server.url, [{ messageRequest: { case: "listServices", value: "*" } }]);
    const names =
      response?.messageResponse.case === "listServicesResponse" ? response.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).toHaveLength(5);
    expect(new Set(names).size).toBe(5);
  });

  test("v1alpha file_containing_symbol returns the file and its google/protobuf dependencies, all decodable", async () => {
    const [response] = await alphaSession(server.url, [
      { messageRequest: { case: "fileContainingSymbol", value: "agentlearning.v1.Execution" } },
    ]);
    const names = fileNames(response);
    expect(names[0]).toBe("agentlearning/v1/execution.proto");
    expect(names).toContain("google/protobuf/timestamp.proto");
  });

  test("v1alpha answers an unknown symbol with NOT_FOUND and keeps answering on the same stream", async () => {
    const responses = await alphaSession(server.url, [
      { messageRequest: { case: "fileContainingSymbol", value: "agentlearning.v1.NoSuchThing" } },
      { messageRequest: { case: "fileContainingSymbol", value: "agentlearning.v1.LearningService" } },
    ]);
    expect(errorCode(responses[0])).toBe(5);
    expect(fileNames(responses[1])[0]).toBe("agentlearning/v1/learning_service.proto");
  });

  test("each response echoes the request it answers", async () => {
    const request = { host: "example", messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } } as const;
    const [response] = await v1Session(server.url, [request]);
    expect(response?.validHost).toBe("example");
    expect(response?.originalRequest?.messageRequest).toEqual(request.messageRequest);
  });

  test("file_by_filename returns a transitive closure: learning_service.proto brings struct and timestamp", async () => {
    const [response] = await v1Session(server.url, [
      { messageRequest: { case: "fileByFilename", value: "agentlearning/v1/learning_service.proto" } },
    ]);
    expect(fileNames(response)).toEqual(
      expect.arrayContaining([
        "agentlearning/v1/learning_service.proto",
        "agentlearning/v1/execution.proto",
        "agentlearning/v1/learning.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/timestamp.proto",
      ]),
    );
  });

  test("file_by_filename of an unknown file is NOT_FOUND", async () => {
    const [response] = await v1Session(server.url, [{ messageRequest: { case: "fileByFilename", value: "nope.proto" } }]);
    expect(errorCode(response)).toBe(5);
  });

  test.each([
    ["a method", "agentlearning.v1.AdminService.GetStatus", "agentlearning/v1/admin_service.proto"],
    ["a nested enum", "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["an enum value in protobuf scope", "grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
    ["an enum value qualified by its enum", "agentlearning.v1.LearningMode.LEARNING_MODE_ADVISORY", "agentlearning/v1/learning.proto"],
    ["a field", "agentlearning.v1.Execution.error_message", "agentlearning/v1/execution.proto"],
    ["a well-known type", "google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
  ])("file_containing_symbol finds %s", async (_kind, symbol, file) => {
    const [response] = await v1Session(server.url, [{ messageRequest: { case: "fileContainingSymbol", value: symbol } }]);
    expect(fileNames(response)[0]).toBe(file);
  });

  test("all_extension_numbers_of_type answers an empty list for a known message that has no extensions", async () => {
    const [response] = await v1Session(server.url, [
      { messageRequest: { case: "allExtensionNumbersOfType", value: "agentlearning.v1.Execution" } },
    ]);
    expect(response?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "agentlearning.v1.Execution", extensionNumber: [] },
    });
  });

  test("all_extension_numbers_of_type and file_containing_extension are NOT_FOUND for unknown types", async () => {
    const responses = await v1Session(server.url, [
      { messageRequest: { case: "allExtensionNumbersOfType", value: "no.Such" } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "agentlearning.v1.Execution", extensionNumber: 99 } } },
    ]);
    expect(responses.map(errorCode)).toEqual([5, 5]);
  });
});

describe("reflection of nested messages and extensions", () => {
  // Our API declares neither, so a small fixture file (built in memory) carries them.
  const fixture = createFileRegistry(
    create(FileDescriptorProtoSchema, {
      name: "fixture/v1/fixture.proto",
      package: "fixture.v1",
      syntax: "proto3",
      dependency: ["google/protobuf/descriptor.proto"],
      messageType: [{ name: "Outer", nestedType: [{ name: "Inner" }] }],
      extension: [
        {
          name: "audit_note",
          number: 50_001,
          label: FieldDescriptorProto_Label.OPTIONAL,
          type: FieldDescriptorProto_Type.STRING,
          extendee: ".google.protobuf.MethodOptions",
          jsonName: "auditNote",
        },
      ],
      service: [{ name: "FixtureService", method: [{ name: "Echo", inputType: ".fixture.v1.Outer", outputType: ".fixture.v1.Outer" }] }],
    }),
    (name) => (name === "google/protobuf/descriptor.proto" ? file_google_protobuf_descriptor : undefined),
  );
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    const service = fixture.getService("fixture.v1.FixtureService");
    if (service === undefined) throw new Error("fixture has no service");
    server = await startServer([service]);
  });
  afterAll(() => server.close());

  test("file_containing_symbol finds a nested message", async () => {
    const [response] = await v1Session(server.url, [{ messageRequest: { case: "fileContainingSymbol", value: "fixture.v1.Outer.Inner" } }]);
    expect(fileNames(response)).toEqual(["fixture/v1/fixture.proto", "google/protobuf/descriptor.proto"]);
  });

  test("file_containing_extension finds the file that declares the extension", async () => {
    const [response] = await alphaSession(server.url, [
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 50_001 },
        },
      },
    ]);
    expect(fileNames(response)[0]).toBe("fixture/v1/fixture.proto");
  });

  test("all_extension_numbers_of_type lists the extension numbers of a message", async () => {
    const [response] = await v1Session(server.url, [
      { messageRequest: { case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" } },
    ]);
    expect(response?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "google.protobuf.MethodOptions", extensionNumber: [50_001] },
    });
  });

  test("buf curl describes the fixture through reflection, descriptor.proto included", async () => {
    const { stdout } = await bufCurl("--list-methods", server.url);
    expect(stdout).toContain("fixture.v1.FixtureService/Echo");
  });
});
