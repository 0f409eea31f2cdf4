import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { sql } from "slonik";
import { afterEach, describe, expect, it } from "vitest";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createTestDatabase, dropTestDatabase } from "../support/database.js";
import { loadMigrations } from "../../src/store/migrate.js";
import { makeExecution } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";

// Every test here starts and stops servers itself; whatever a failing test leaves is cleaned up.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function serverOn(databaseUrl?: string): Promise<TestServer> {
  const server = await startTestServer(databaseUrl === undefined ? {} : { databaseUrl });
  cleanups.push(() => server.stop());
  return server;
}

async function testDatabase(): Promise<string> {
  const url = await createTestDatabase();
  cleanups.push(() => dropTestDatabase(url));
  return url;
}

async function exportAll(server: TestServer): Promise<Execution[]> {
  const out: Execution[] = [];
  for await (const { execution } of server.admin.exportData({})) if (execution) out.push(execution);
  return out;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await condition()); await sleep(10)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
  }
}

/** Settles a promise into what happened to it, so a test can assert on either outcome. */
async function outcome<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ConnectError }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: ConnectError.from(error) }),
  );
}

describe("restart", () => {
  it("keeps recorded executions: a new server on the same database exports them", async () => {
    const databaseUrl = await testDatabase();
    const first = await serverOn(databaseUrl);
    const { execution } = await first.learning.recordExecution({ execution: makeExecution() });
    await first.stop();

    const second = await serverOn(databaseUrl);

    expect(await exportAll(second)).toEqual([execution]);
    expect((await second.admin.getStatus({})).executionCount).toBe(1n);
  });
});

describe("graceful shutdown", () => {
  it("lets a call that is in flight when stop() is called finish with OK, and only then stops", async () => {
    const server = await serverOn();
    await server.learning.recordExecution({ execution: makeExecution() });
    // Hold a lock that makes the next insert wait inside PostgreSQL, so the call is truly in flight.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = server.db.transaction(async (tx) => {
      await tx.query(sql.unsafe`LOCK TABLE executions IN SHARE MODE`);
      locked();
      await released;
    });
    await isLocked;
    const call = outcome(server.learning.recordExecution({ execution: makeExecution() }));
    await until(
      async () =>
        (await server.db.oneFirst(sql.unsafe`
          SELECT count(*)::int FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'agent-learning' AND wait_event_type = 'Lock'`)) === 1,
      "the call waits on the lock",
    );

    let stopped = false;
    const stopping = server.stop().then(() => {
      stopped = true;
    });
    await sleep(200);
    const stoppedBeforeTheCallFinished = stopped;
    release();
    await holder;

    const result = await call;
    await stopping;
    expect(stoppedBeforeTheCallFinished).toBe(false);
    expect(result.ok ? "OK" : result.error.message).toBe("OK");
  });

  it("ends an open ExportData stream promptly with UNAVAILABLE", async () => {
    const server = await serverOn();
    const bulky = Array.from({ length: 2000 }, () => makeExecution({ taskDescription: "d".repeat(1000) }));
    await server.learning.recordExecutions(
      (async function* () {
        yield { executions: bulky.slice(0, 1000) };
        yield { executions: bulky.slice(1000) };
      })(),
    );
    const stream = server.admin.exportData({})[Symbol.asyncIterator]();
    expect((await stream.next()).done).toBe(false);

    const started = Date.now();
    const stopping = server.stop();
    let received = 1;
    const ended = await outcome(
      (async () => {
        for (let next = await stream.next(); !next.done; next = await stream.next()) received++;
      })(),
    );
    await stopping;

    expect(ended.ok ? "OK" : ended.error.message).toBe("[unavailable] the server is shutting down");
    expect(received).toBeLessThan(2000);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("tells a health Watch stream NOT_SERVING, then ends it instead of leaving it hanging", async () => {
    const server = await serverOn();
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    const watch = health.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(ServingStatus.SERVING);

    const started = Date.now();
    const stopping = server.stop();
    const statuses: ServingStatus[] = [];
    const ended = await outcome(
      (async () => {
        for (let next = await watch.next(); !next.done; next = await watch.next()) statuses.push(next.value.status);
      })(),
    );
    await stopping;

    expect(statuses).toEqual([ServingStatus.NOT_SERVING]);
    // Either end is a status the server chose; a reset stream (CANCELED) is not.
    expect(ended.ok ? "OK" : Code[ended.error.code]).toMatch(/^(OK|Unavailable)$/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("stops promptly when a client keeps an idle HTTP/1.1 keep-alive connection open", async () => {
    const server = await serverOn();
    // fetch (undici) keeps the connection alive for a few seconds after the call.
    expect((await server.connectJson("agentlearning.v1.AdminService/GetStatus", {})).status).toBe(200);

    const started = Date.now();
    await server.stop();

    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("refuses connections on its port once stopped", async () => {
    const server = await serverOn();
    await server.stop();

    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const socket = connect(server.port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once("error", resolve);
    });

    expect(error?.code).toBe("ECONNREFUSED");
  });
});

describe("replicas starting together", () => {
  it("both start on the same fresh database, migrating it once, and both serve the same data", async () => {
    const databaseUrl = await testDatabase();

    const [a, b] = await Promise.all([serverOn(databaseUrl), serverOn(databaseUrl)]);
    const { execution } = await a.learning.recordExecution({ execution: makeExecution() });

    expect(await exportAll(b)).toEqual([execution]);
    expect(await a.db.anyFirst(sql.unsafe`SELECT version FROM schema_migrations ORDER BY version`)).toEqual(
      (await loadMigrations()).map((m) => m.version),
    );
    const [statusA, statusB] = await Promise.all([a.admin.getStatus({}), b.admin.getStatus({})]);
    expect(statusA.databaseReady && statusB.databaseReady).toBe(true);
    expect(statusA.schemaVersion).toBeGreaterThan(0);
    expect(statusB.schemaVersion).toBe(statusA.schemaVersion);
    expect(statusB.agentCount).toBe(40n);
  });
});
