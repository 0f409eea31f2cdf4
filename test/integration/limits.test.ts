import * as http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { ANALYSIS_LOCK_KEY } from "../../src/store/analysis-state.js";
import { makeExecution } from "../support/executions.js";
import { parsePrometheus, sampleValue } from "../support/prometheus.js";
import { startTestServer, type TestServer } from "../support/server.js";

// What a replica refuses, and how: every limit answers with a gRPC status a client understands,
// never a crash, and the server goes on serving the next call.

const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_STREAM_EXECUTIONS = 50;
/** Small batches, so an upload cut at the limit has committed several of them. */
const BULK_BATCH_SIZE = 10;
const MAX_IN_FLIGHT_CALLS = 2;
const MAX_STREAM_RATE = 100;

const QUIET = {
  analysisEveryExecutions: 1_000_000,
  analysisIntervalMs: 1_000_000_000,
  retrainEveryExecutions: 1_000_000,
  retrainIntervalMs: 1_000_000_000,
};

let server: TestServer;
/** A second replica with a tiny in-flight cap. */
let capped: TestServer;
/** A third whose bulk streams are read at MAX_STREAM_RATE executions per second. */
let paced: TestServer;

beforeAll(async () => {
  [server, capped, paced] = await Promise.all([
    startTestServer({
      config: { ...QUIET, maxMessageBytes: MAX_MESSAGE_BYTES, maxStreamExecutions: MAX_STREAM_EXECUTIONS, bulkBatchSize: BULK_BATCH_SIZE },
    }),
    startTestServer({ config: { ...QUIET, maxInFlightCalls: MAX_IN_FLIGHT_CALLS, heartbeatMs: 60_000 } }),
    startTestServer({ config: { ...QUIET, maxStreamRate: MAX_STREAM_RATE, bulkBatchSize: BULK_BATCH_SIZE } }),
  ]);
});

afterAll(async () => {
  await Promise.all([server?.stop(), capped?.stop(), paced?.stop()]);
});

/** The ConnectError a call failed with; fails the test if it succeeded. */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

/** The server answers a plain call and says it is serving. */
async function expectHealthy(target: TestServer): Promise<void> {
  expect((await target.admin.getStatus({})).databaseReady).toBe(true);
  const health = createClient(Health, createGrpcTransport({ baseUrl: target.url }));
  expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
}

/** How many of these execution ids are stored (on `target`, the first replica by default). */
async function storedAmong(ids: readonly string[], target: TestServer = server): Promise<number> {
  return target.db.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`SELECT count(*)::int AS n FROM executions WHERE execution_id = ANY(${sql.array([...ids], "text")})`,
  );
}

/** A client stream of `items` in messages of `size`. */
async function* inMessages(items: readonly Execution[], size: number): AsyncIterable<{ executions: Execution[] }> {
  for (let i = 0; i < items.length; i += size) yield { executions: items.slice(i, i + size) };
}

describe("message size (MAX_MESSAGE_BYTES)", () => {
  const oversize = () => makeExecution({ taskDescription: "x".repeat(MAX_MESSAGE_BYTES + 1) });

  it("refuses a larger gRPC message with RESOURCE_EXHAUSTED", async () => {
    const error = await failure(server.learning.recordExecution({ execution: oversize() }));
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  it("refuses a larger Connect JSON body over HTTP/1.1 with resource_exhausted", async () => {
    const reply = await server.connectJson("agentlearning.v1.LearningService/RecordExecution", {
      execution: { executionId: "big", taskDescription: "x".repeat(MAX_MESSAGE_BYTES + 1) },
    });
    expect(reply.body).toMatchObject({ code: "resource_exhausted" });
  });

  it("releases the HTTP/2 stream of a refused message the client never finished sending", async () => {
    // The client announces a message over the limit, sends part of it and never ends its side:
    // the answer comes at once, and the server resets the stream (NO_ERROR) soon after, so it
    // does not hold one of the connection's concurrent-stream slots for good.
    const session = http2.connect(server.url);
    try {
      const outcome = await new Promise<{ grpcStatus: unknown; rstCode: number; ms: number }>((resolve, reject) => {
        const started = Date.now();
        const request = session.request({
          ":method": "POST",
          ":path": "/agentlearning.v1.LearningService/RecordExecution",
          "content-type": "application/grpc",
          te: "trailers",
        });
        let grpcStatus: unknown;
        request.on("response", (headers) => (grpcStatus ??= headers["grpc-status"]));
        request.on("trailers", (trailers) => (grpcStatus ??= trailers["grpc-status"]));
        request.on("data", () => {});
        request.on("close", () => resolve({ grpcStatus, rstCode: request.rstCode ?? -1, ms: Date.now() - started }));
        request.on("error", reject);
        const header = Buffer.alloc(5);
        header.writeUInt32BE(MAX_MESSAGE_BYTES * 4, 1);
        request.write(Buffer.concat([header, Buffer.alloc(1024)]));
      });
      expect(outcome.grpcStatus).toBe(String(Code.ResourceExhausted));
      expect(outcome.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
      expect(outcome.ms).toBeLessThan(5_000);
    } finally {
      session.destroy();
    }
  });

  it("goes on serving after refusing one", async () => {
    await failure(server.learning.recordExecution({ execution: oversize() }));
    expect((await server.learning.recordExecution({ execution: makeExecution() })).duplicate).toBe(false);
    await expectHealthy(server);
  });
});

describe("stream length (MAX_STREAM_EXECUTIONS)", () => {
  it("accepts a RecordExecutions stream of exactly the limit", async () => {
    const items = Array.from({ length: MAX_STREAM_EXECUTIONS }, () => makeExecution());
    const { result } = await server.learning.recordExecutions(inMessages(items, 15));
    expect(result?.storedCount).toBe(MAX_STREAM_EXECUTIONS);
  });

  describe("a RecordExecutions stream of 80 in messages of 15 (the limit falls inside the 4th)", () => {
    const items = Array.from({ length: 80 }, () => makeExecution());
    let error: ConnectError;

    beforeAll(async () => {
      error = await failure(server.learning.recordExecutions(inMessages(items, 15)));
    });

    it("fails with RESOURCE_EXHAUSTED, reason STREAM_TOO_LONG, naming the limit and what was stored", () => {
      expect(error.code).toBe(Code.ResourceExhausted);
      const [info] = error.findDetails(ErrorInfoSchema);
      expect(info).toMatchObject({ reason: "STREAM_TOO_LONG", domain: "agentlearning.v1" });
      expect(info?.metadata).toMatchObject({
        max_executions: "50",
        processed_count: "50",
        stored_count: "50",
        duplicate_count: "0",
        rejected_count: "0",
      });
      expect(error.rawMessage).toMatch(/at most 50 executions/);
      expect(error.rawMessage).toMatch(/stay committed/);
    });

    it("keeps the first 50 committed and stores nothing after them", async () => {
      expect(await storedAmong(items.slice(0, MAX_STREAM_EXECUTIONS).map((e) => e.executionId))).toBe(MAX_STREAM_EXECUTIONS);
      expect(await storedAmong(items.slice(MAX_STREAM_EXECUTIONS).map((e) => e.executionId))).toBe(0);
    });

    it("lets the client resume with the rest in a new call", async () => {
      const { result } = await server.learning.recordExecutions(inMessages(items.slice(MAX_STREAM_EXECUTIONS), 15));
      expect(result?.storedCount).toBe(80 - MAX_STREAM_EXECUTIONS);
    });
  });

  it("cuts an endless stream instead of reading it forever", async () => {
    async function* endless(): AsyncIterable<{ executions: Execution[] }> {
      for (;;) yield { executions: [makeExecution(), makeExecution(), makeExecution()] };
    }
    const error = await failure(server.learning.recordExecutions(endless()));
    expect(error.code).toBe(Code.ResourceExhausted);
  });

  it("applies to ImportData too", async () => {
    const items = Array.from({ length: 60 }, () => makeExecution());
    const error = await failure(server.admin.importData(inMessages(items, 60)));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.findDetails(ErrorInfoSchema)[0]?.metadata).toMatchObject({ stored_count: "50" });
    expect(await storedAmong(items.slice(0, MAX_STREAM_EXECUTIONS).map((e) => e.executionId))).toBe(MAX_STREAM_EXECUTIONS);
    expect(await storedAmong(items.slice(MAX_STREAM_EXECUTIONS).map((e) => e.executionId))).toBe(0);
  });
});

/** A raw gRPC call with an empty request and a grpc-timeout header: what the server itself answers, with no client deadline logic in between. */
function rawGrpc(url: string, path: string, grpcTimeout: string): Promise<{ grpcStatus: string | undefined; ms: number }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    const started = Date.now();
    const request = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": grpcTimeout,
    });
    let grpcStatus: string | undefined;
    const take = (headers: http2.IncomingHttpHeaders) => {
      const status = headers["grpc-status"];
      if (typeof status === "string") grpcStatus = status;
    };
    request.on("response", take);
    request.on("trailers", take);
    request.on("data", () => {});
    request.on("end", () => {
      session.close();
      resolve({ grpcStatus, ms: Date.now() - started });
    });
    request.on("error", (error) => {
      session.destroy();
      reject(error);
    });
    // One empty message: 5-byte frame header, uncompressed, length 0.
    request.end(Buffer.alloc(5));
  });
}

describe("stream rate (MAX_STREAM_RATE = 100 executions/s)", () => {
  it("reads a bulk stream no faster than the rate after a one-second burst, and stores all of it", async () => {
    const items = Array.from({ length: 300 }, () => makeExecution());
    const started = performance.now();

    const { result } = await paced.learning.recordExecutions(inMessages(items, 25));

    // 100 at once, the other 200 at 100 per second: two seconds at the least (noise only adds).
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(result?.storedCount).toBe(300);
  });

  it("ends a stream paced past its deadline with DEADLINE_EXCEEDED, keeping the batches it committed", async () => {
    const items = Array.from({ length: 300 }, () => makeExecution());

    const error = await failure(paced.learning.recordExecutions(inMessages(items, 25), { timeoutMs: 1_200 }));
    // The handler stops at its next read once the deadline passed; let it finish before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stored = await storedAmong(
      items.map((e) => e.executionId),
      paced,
    );

    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(stored).toBeGreaterThanOrEqual(BULK_BATCH_SIZE);
    expect(stored).toBeLessThan(300);
    expect(stored % BULK_BATCH_SIZE).toBe(0);
  });
});

describe("deadlines", () => {
  beforeAll(async () => {
    // Enough history that an analysis takes several milliseconds of database work.
    await server.learning.recordExecutions(
      inMessages(
        Array.from({ length: 40 }, () => makeExecution()),
        40,
      ),
    );
  });

  it("the server itself answers DEADLINE_EXCEEDED once a 1 ms grpc-timeout passes, even while the handler waits on the database", async () => {
    const before = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    const { grpcStatus, ms } = await rawGrpc(server.url, "/agentlearning.v1.AdminService/Analyze", "1m");
    expect(grpcStatus).toBe(String(Code.DeadlineExceeded));
    expect(ms).toBeLessThan(1_000);
    // The log line and the metrics say what the client saw.
    const after = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    const labels = { method: "agentlearning.v1.AdminService/Analyze", code: "DeadlineExceeded" };
    expect(sampleValue(after, "agent_learning_rpc_total", labels) - sampleValue(before, "agent_learning_rpc_total", labels)).toBe(1);
  });

  it("a client with a tiny deadline gets DEADLINE_EXCEEDED, and the next call works", async () => {
    const error = await failure(server.admin.analyze({}, { timeoutMs: 1 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect((await server.admin.analyze({})).executionCount).toBeGreaterThan(0n);
    await expectHealthy(server);
  });

  it("an Analyze waiting for another run's lock stops at its deadline, and does not run once the lock frees", async () => {
    const LastRun = z.object({ last_run_at: z.string().nullable() });
    const lastRun = () => server.db.oneFirst(sql.type(LastRun)`SELECT last_run_at::text FROM analysis_state`);
    const before = await lastRun();

    const error = await server.db.connect(async (holder) => {
      // Another replica's analysis, as far as this one can tell.
      await holder.query(sql.unsafe`SELECT pg_advisory_lock(${ANALYSIS_LOCK_KEY})`);
      try {
        return await failure(server.admin.analyze({}, { timeoutMs: 300 }));
      } finally {
        // Past the deadline the call must have let go of its wait: freeing the lock now must not run it.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await holder.query(sql.unsafe`SELECT pg_advisory_unlock(${ANALYSIS_LOCK_KEY})`);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(await lastRun()).toBe(before);
    expect((await server.admin.analyze({})).executionCount).toBeGreaterThan(0n);
    expect(await lastRun()).not.toBe(before);
  });

  it("a bulk upload past its deadline fails with DEADLINE_EXCEEDED and the server stays healthy", async () => {
    async function* slow(): AsyncIterable<{ executions: Execution[] }> {
      for (let i = 0; i < 4; i++) {
        yield { executions: Array.from({ length: BULK_BATCH_SIZE }, () => makeExecution()) };
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const error = await failure(server.learning.recordExecutions(slow(), { timeoutMs: 150 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    await expectHealthy(server);
  });
});

describe("streams per HTTP/2 connection (MAX_CONCURRENT_STREAMS)", () => {
  it("announces the limit (default 100) in the server's SETTINGS", async () => {
    const session = http2.connect(server.url);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once("remoteSettings", resolve);
        session.once("error", reject);
      });
      expect(settings.maxConcurrentStreams).toBe(100);
    } finally {
      session.close();
    }
  });

  it("completes 300 concurrent calls on one connection: the client queues what the limit holds back", async () => {
    // One transport, one HTTP/2 session: 300 streams wanted, 100 allowed at a time.
    const learning = createClient(LearningService, createGrpcTransport({ baseUrl: server.url }));
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, () =>
        learning.predictOutcome({ taskType: "web_development", complexity: 1.5, agents: ["ARCHITECT", "CONSTRUCTOR"] }),
      ),
    );
    const failures = results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason).message] : []));
    expect(failures).toEqual([]);
  });
});

/** A StreamInsights call held open in the background until closed, remembering how it ended. */
class HeldStream {
  error: ConnectError | undefined;
  ended = false;
  readonly #abort = new AbortController();

  constructor(target: TestServer) {
    const stream = target.learning.streamInsights({}, { signal: this.#abort.signal });
    void (async () => {
      try {
        for await (const _ of stream) {
          // Nothing arrives: no insights, and the heartbeat is a minute away.
        }
      } catch (error) {
        this.error = ConnectError.from(error);
      } finally {
        this.ended = true;
      }
    })();
  }

  close(): void {
    this.#abort.abort();
  }
}

describe("calls in flight per replica (MAX_IN_FLIGHT_CALLS = 2)", () => {
  const streams: HeldStream[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 10; i++) streams.push(new HeldStream(capped));
    // Every refused stream ends at once; the admitted ones stay open.
    const deadline = Date.now() + 10_000;
    while (streams.filter((s) => s.ended).length < 10 - MAX_IN_FLIGHT_CALLS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  });

  afterAll(() => {
    for (const s of streams) s.close();
  });

  it("refuses the calls beyond the cap with RESOURCE_EXHAUSTED (TOO_MANY_CALLS), and nothing worse", () => {
    const refused = streams.filter((s) => s.ended);
    const open = streams.filter((s) => !s.ended);
    expect(refused.length).toBeGreaterThanOrEqual(10 - MAX_IN_FLIGHT_CALLS);
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(open.length).toBeLessThanOrEqual(MAX_IN_FLIGHT_CALLS);
    for (const s of refused) {
      expect(s.error?.code).toBe(Code.ResourceExhausted);
      expect(s.error?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("TOO_MANY_CALLS");
    }
  });

  it("still answers health checks at the cap: a busy replica is not a dead one", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: capped.url }));
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  });

  it("serves calls again once the held calls end", async () => {
    const open = streams.filter((s) => !s.ended);
    const full = await failure(capped.admin.getStatus({})).catch(() => undefined);
    if (open.length === MAX_IN_FLIGHT_CALLS) expect(full?.code).toBe(Code.ResourceExhausted);
    for (const s of streams) s.close();
    const deadline = Date.now() + 5_000;
    while (streams.some((s) => !s.ended) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // The client-side cancel reaches the server a moment later: retry briefly.
    for (;;) {
      try {
        await expectHealthy(capped);
        break;
      } catch (error) {
        if (Date.now() > deadline || ConnectError.from(error).code !== Code.ResourceExhausted) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  });
});
