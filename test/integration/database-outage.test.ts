import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { loadConfig } from "../../src/config.js";
import { type RunningService, startService } from "../../src/main.js";
import { createDatabase } from "../../src/store/create-database.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";

// This file needs a PostgreSQL it may stop and start, so it runs its own embedded one rather
// than the shared server of the run.

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch((error: unknown) => error as T);
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("when PostgreSQL goes away and comes back", () => {
  let dataDir: string;
  let pgPort: number;
  let postgres: EmbeddedPostgres;
  let service: RunningService;
  let n = 0;
  const execution = () =>
    create(ExecutionSchema, {
      executionId: `outage-${n++}`,
      taskType: "web",
      complexity: 1,
      agents: ["ARCHITECT"],
      durationSeconds: 3,
      success: true,
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "al-outage-"));
    pgPort = await freePort();
    postgres = await startEmbeddedPostgres({ dataDir, port: pgPort, log: () => {} });
    const databaseUrl = await createDatabase(postgres.url, "outage");
    service = await startService(loadConfig({}, { port: 0, databaseUrl, logLevel: "silent" }));
  });

  afterAll(async () => {
    await service?.stop();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("answers UNAVAILABLE while the database is down, reports NOT_SERVING, and recovers by itself", async () => {
    const transport = createGrpcTransport({ baseUrl: service.url });
    const learning = createClient(LearningService, transport);
    const admin = createClient(AdminService, transport);
    const health = createClient(Health, transport);

    const acknowledged = [execution()];
    await learning.recordExecution({ execution: acknowledged[0] });

    await postgres.stop();
    const failure = await learning.recordExecution({ execution: execution() }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).code).toBe(Code.Unavailable);
    const status = await eventually(
      () => health.check({ service: "" }),
      (r) => r.status === HealthCheckResponse_ServingStatus.NOT_SERVING,
    );
    expect(status.status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);

    postgres = await startEmbeddedPostgres({ dataDir, port: pgPort, log: () => {} });
    const back = await eventually(
      () => health.check({ service: "" }),
      (r) => r.status === HealthCheckResponse_ServingStatus.SERVING,
    );
    expect(back.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const later = execution();
    await learning.recordExecution({ execution: later });
    acknowledged.push(later);

    const stored = new Set<string>();
    for await (const row of admin.exportData({})) stored.add(row.execution?.executionId ?? "");
    for (const e of acknowledged) expect(stored.has(e.executionId)).toBe(true);
    expect((await admin.getStatus({})).executionCount).toBe(BigInt(stored.size));
  });
});
