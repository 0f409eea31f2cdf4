import { once } from "node:events";
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, test } from "vitest";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { HealthRegistry, registerHealth } from "../../src/server/health.js";
import { registerReflection } from "../../src/server/reflection.js";

const apiServices = [LearningService, AdminService];
const learning = LearningService.typeName;

/** A real h2c server on an ephemeral port serving health from `registry`, reflection, and our (unimplemented) API. */
async function startServer(registry: HealthRegistry) {
  const routes = (router: ConnectRouter): void => {
    registerHealth(router, registry);
    registerReflection(router, [...apiServices, Health, v1.ServerReflection, v1alpha.ServerReflection]);
    // Methods left out answer Code.Unimplemented: the API only has to exist here.
    for (const service of apiServices) router.service(service, {});
  };
  const server: Http2Server = createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (session) => sessions.add(session));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const session of sessions) session.destroy();
    await new Promise((done) => server.close(done));
  };
  const client = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
  return { port, client, close };
}

/** Resolves to "pending" when the promise has not settled within a short while. */
function settlesSoon<T>(promise: Promise<T>): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((done) => setTimeout(() => done("pending"), 200))]);
}

let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
});

async function serving(names = [learning]) {
  const registry = new HealthRegistry(names);
  registry.setServing(true);
  const server = await startServer(registry);
  closeServer = server.close;
  return { registry, ...server };
}

describe("Check", () => {
  test("a new registry reports NOT_SERVING until the server is declared ready", () => {
    expect(new HealthRegistry([learning]).status("")).toBe(ServingStatus.NOT_SERVING);
  });

  test("answers SERVING for the whole server when the registry is serving", async () => {
    const { client } = await serving();
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  });

  test("answers NOT_SERVING for every service after setServing(false)", async () => {
    const { client, registry } = await serving();
    registry.setServing(false);
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    expect((await client.check({ service: learning })).status).toBe(ServingStatus.NOT_SERVING);
  });

  test("answers NOT_FOUND for a service the server does not know", async () => {
    const { client } = await serving();
    const failure = await client.check({ service: "no.such.Service" }).catch((error: unknown) => error);
    expect(ConnectError.from(failure).code).toBe(Code.NotFound);
  });

  test("stays NOT_SERVING after shutdown even if readiness is declared again", async () => {
    const { client, registry } = await serving();
    registry.shutdown();
    registry.setServing(true);
    expect((await client.check({ service: learning })).status).toBe(ServingStatus.NOT_SERVING);
  });

  test("answers an independent @grpc/grpc-js client, including NOT_FOUND", async () => {
    const { port } = await serving();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<HealthCheckResponse>((done, fail) =>
        client.makeUnaryRequest(
          "/grpc.health.v1.Health/Check",
          (request: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, request)),
          (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes),
          create(HealthCheckRequestSchema, { service }),
          (error, response) => (error || !response ? fail(error) : done(response)),
        ),
      );
    try {
      expect((await check(learning)).status).toBe(ServingStatus.SERVING);
      await expect(check("no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
    }
  });
});

describe("Watch", () => {
  test("sends the current status at once, then each change", async () => {
    const { client, registry } = await serving();
    const abort = new AbortController();
    const updates = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await updates.next()).value?.status).toBe(ServingStatus.SERVING);
    registry.setServing(false);
    expect((await updates.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    registry.setServing(true);
    expect((await updates.next()).value?.status).toBe(ServingStatus.SERVING);
    abort.abort();
  });

  test("does not repeat a status that did not change", async () => {
    const { client, registry } = await serving();
    const abort = new AbortController();
    const updates = client.watch({ service: learning }, { signal: abort.signal })[Symbol.asyncIterator]();
    await updates.next();
    registry.setServing(true);
    expect(await settlesSoon(updates.next())).toBe("pending");
    abort.abort();
  });

  test("sends SERVICE_UNKNOWN for an unknown service and keeps the stream open", async () => {
    const { client } = await serving();
    const abort = new AbortController();
    const updates = client.watch({ service: "no.such.Service" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await updates.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    expect(await settlesSoon(updates.next())).toBe("pending");
    abort.abort();
  });

  test("sends NOT_SERVING and ends the stream when shutdown begins", async () => {
    const { client, registry } = await serving();
    const updates = client.watch({ service: "" })[Symbol.asyncIterator]();
    await updates.next();
    registry.shutdown();
    expect((await updates.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    expect((await updates.next()).done).toBe(true);
  });

  test("ends at once after its first message when shutdown has already begun", async () => {
    const { client, registry } = await serving();
    registry.shutdown();
    const statuses: ServingStatus[] = [];
    for await (const update of client.watch({ service: "" })) statuses.push(update.status);
    expect(statuses).toEqual([ServingStatus.NOT_SERVING]);
  });

  test("ends on the server when the client cancels", async () => {
    let ended!: () => void;
    const serverSideEnded = new Promise<void>((done) => (ended = done));
    class ObservedRegistry extends HealthRegistry {
      override async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
        try {
          yield* super.watch(service, signal);
        } finally {
          ended();
        }
      }
    }
    const registry = new ObservedRegistry([learning]);
    const server = await startServer(registry);
    closeServer = server.close;
    const abort = new AbortController();
    const updates = server.client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    await updates.next();
    abort.abort();
    await expect(serverSideEnded).resolves.toBeUndefined();
  });

  test("the registry ends a watch as soon as its signal aborts", async () => {
    const registry = new HealthRegistry([learning]);
    const abort = new AbortController();
    const updates = registry.watch("", abort.signal);
    expect((await updates.next()).value).toBe(ServingStatus.NOT_SERVING);
    abort.abort();
    expect((await updates.next()).done).toBe(true);
  });
});
