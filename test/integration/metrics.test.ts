import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeExecution } from "../support/executions.js";
import { parsePrometheus, type Sample, sampleValue } from "../support/prometheus.js";
import { startTestServer, type TestServer } from "../support/server.js";

// GET /metrics on the API port: what operators scrape. Figures are compared before and after an
// action, so each test states exactly what that action adds, whatever ran before it.

const RECORD = "agentlearning.v1.LearningService/RecordExecution";

let server: TestServer;

beforeAll(async () => {
  // Nothing automatic: the counters move only because of what the tests do.
  server = await startTestServer({
    config: {
      analysisEveryExecutions: 1_000_000,
      analysisIntervalMs: 1_000_000_000,
      retrainEveryExecutions: 1_000_000,
      retrainIntervalMs: 1_000_000_000,
    },
  });
});

afterAll(async () => {
  await server?.stop();
});

/** Scrapes over plain HTTP/1.1, as Prometheus does. */
async function scrape(): Promise<Sample[]> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheus(await response.text());
}

/** Polls the metrics until `accept` holds, failing after `timeoutMs`. */
async function eventually(accept: (samples: Sample[]) => boolean, what: string, timeoutMs = 5_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await scrape();
    if (accept(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("RPC and ingestion figures", () => {
  let before: Sample[];
  let after: Sample[];

  beforeAll(async () => {
    before = await scrape();
    const first = makeExecution();
    await server.learning.recordExecution({ execution: first });
    await server.learning.recordExecution({ execution: makeExecution() });
    await server.learning.recordExecution({ execution: makeExecution() });
    const duplicate = await server.learning.recordExecution({ execution: first });
    expect(duplicate.duplicate).toBe(true);
    const invalid = await server.learning.recordExecution({ execution: makeExecution({ complexity: -1 }) }).catch((e: unknown) => e);
    expect(ConnectError.from(invalid).code).toBe(Code.InvalidArgument);
    after = await scrape();
  });

  const delta = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels) - sampleValue(before, name, labels);

  it("counts every RecordExecution by method and code: 4 OK (the duplicate too), 1 InvalidArgument", () => {
    expect(delta("agent_learning_rpc_total", { method: RECORD, code: "OK" })).toBe(4);
    expect(delta("agent_learning_rpc_total", { method: RECORD, code: "InvalidArgument" })).toBe(1);
  });

  it("times the same calls in the duration histogram, under the same labels", () => {
    expect(delta("agent_learning_rpc_duration_seconds_count", { method: RECORD, code: "OK" })).toBe(4);
    expect(delta("agent_learning_rpc_duration_seconds_count", { method: RECORD, code: "InvalidArgument" })).toBe(1);
    expect(delta("agent_learning_rpc_duration_seconds_sum", { method: RECORD, code: "OK" })).toBeGreaterThan(0);
    // Sub-millisecond buckets exist: a fast path is not lumped with a slow one.
    expect(after.some((s) => s.name === "agent_learning_rpc_duration_seconds_bucket" && s.labels.le === "0.0005")).toBe(true);
  });

  it("counts only the 3 newly stored executions as ingested, not the duplicate nor the invalid one", () => {
    expect(delta("agent_learning_executions_ingested_total")).toBe(3);
  });

  it("counts what a bulk upload newly stored", async () => {
    const start = await scrape();
    const executions = [makeExecution(), makeExecution(), makeExecution(), makeExecution()];
    const stored = executions[0];
    if (!stored) throw new Error("no execution");
    await server.learning.recordExecution({ execution: stored });
    const { result } = await server.learning.recordExecutions(
      (async function* () {
        yield { executions };
      })(),
    );
    expect(result?.storedCount).toBe(3);
    const end = await scrape();
    expect(
      sampleValue(end, "agent_learning_executions_ingested_total") - sampleValue(start, "agent_learning_executions_ingested_total"),
    ).toBe(4);
  });
});

describe("StreamInsights subscribers", () => {
  it("rise while a stream is open and fall back once it ends", async () => {
    const base = sampleValue(await scrape(), "agent_learning_stream_subscribers");
    const abort = new AbortController();
    const reading = (async () => {
      try {
        for await (const _ of server.learning.streamInsights({}, { signal: abort.signal })) {
          // Heartbeats only; the test is about the stream being open.
        }
      } catch {
        // Cancelled by the test.
      }
    })();
    await eventually((s) => sampleValue(s, "agent_learning_stream_subscribers") === base + 1, "one more subscriber");
    abort.abort();
    await reading;
    await eventually((s) => sampleValue(s, "agent_learning_stream_subscribers") === base, "the subscriber gone");
  });
});

describe("state read at scrape time", () => {
  it("reports the database pool's connections by state, and callers waiting for one", async () => {
    // One call makes sure the pool has opened a connection.
    await server.admin.getStatus({});
    const samples = await scrape();
    const states = samples.filter((s) => s.name === "agent_learning_db_pool_connections").map((s) => s.labels.state);
    expect(states.sort()).toEqual(["acquired", "idle", "pending"]);
    expect(
      sampleValue(samples, "agent_learning_db_pool_connections", { state: "idle" }) +
        sampleValue(samples, "agent_learning_db_pool_connections", { state: "acquired" }),
    ).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === "agent_learning_db_pool_waiting_clients")).toBe(true);
  });

  it("reports calls in flight (the scrape itself is not an RPC)", async () => {
    expect(sampleValue(await scrape(), "agent_learning_rpc_in_flight")).toBe(0);
  });

  it("includes the process figures: resident memory and event-loop lag", async () => {
    const samples = await scrape();
    expect(sampleValue(samples, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === "nodejs_eventloop_lag_seconds")).toBe(true);
  });
});

describe("retraining figures", () => {
  it("count a retraining on an empty history as insufficient_data and time it", async () => {
    const before = await scrape();
    const error = await server.admin.retrain({}).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.FailedPrecondition);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta("agent_learning_retrain_total", { outcome: "insufficient_data" })).toBe(1);
    expect(delta("agent_learning_retrain_duration_seconds_count")).toBe(1);
    // No model serves: no active_model_info series at all.
    expect(after.filter((s) => s.name === "agent_learning_active_model_info")).toEqual([]);
  });
});

describe("the endpoint", () => {
  it("answers over HTTP/2 (h2c) on the same port, in the Prometheus text format", async () => {
    const session = http2.connect(server.url);
    try {
      const { status, contentType, body } = await new Promise<{ status: number; contentType: string; body: string }>((resolve, reject) => {
        const request = session.request({ ":method": "GET", ":path": "/metrics" });
        let status = 0;
        let contentType = "";
        let body = "";
        request.setEncoding("utf8");
        request.on("response", (headers) => {
          status = Number(headers[":status"]);
          contentType = String(headers["content-type"]);
        });
        request.on("data", (chunk: string) => (body += chunk));
        request.on("end", () => resolve({ status, contentType, body }));
        request.on("error", reject);
        request.end();
      });
      expect(status).toBe(200);
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(sampleValue(parsePrometheus(body), "agent_learning_rpc_total", { method: RECORD, code: "OK" })).toBeGreaterThan(0);
    } finally {
      session.close();
    }
  });

  it("leaves every other path to the RPC handler", async () => {
    expect((await fetch(`${server.url}/metrics/extra`)).status).toBe(404);
    const reply = await server.connectJson("agentlearning.v1.AdminService/GetStatus", {});
    expect(reply.status).toBe(200);
  });
});
