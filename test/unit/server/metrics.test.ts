import type { DatabasePool } from "slonik";
import { describe, expect, test } from "vitest";
import type { FeatureEncoder } from "../../../src/ml/features.js";
import { ModelRuntime, type ServingModel } from "../../../src/ml/model-runtime.js";
import { ServiceMetrics } from "../../../src/server/metrics.js";
import { parsePrometheus, type Sample, sampleValue } from "../../support/prometheus.js";

// The figures ServiceMetrics reads from their owners at scrape time, and those it is told, with
// stand-ins for the pool and the models: no database, no onnxruntime.

/** A pool whose state() says what the test wants; nothing else of it is used. */
function poolWithState(state: {
  acquiredConnections: number;
  idleConnections: number;
  pendingConnections: number;
  waitingClients: number;
}): DatabasePool {
  return {
    state: () => ({ ...state, pendingDestroyConnections: 0, pendingReleaseConnections: 0, state: "ACTIVE" }),
  } as unknown as DatabasePool;
}

/** A serving model with a session that does nothing. */
function model(kind: ServingModel["kind"], version: string): ServingModel {
  return {
    kind,
    version,
    encoder: {} as FeatureEncoder,
    session: { run: async () => new Float32Array(), metadata: () => ({}), release: async () => {} },
  };
}

function setup() {
  const runtime = new ModelRuntime();
  let inFlight = 0;
  const metrics = new ServiceMetrics({
    pool: poolWithState({ acquiredConnections: 2, idleConnections: 5, pendingConnections: 1, waitingClients: 3 }),
    runtime,
    inFlightCalls: () => inFlight,
    recommendationLog: () => ({ statements: 4, answers: 900, failures: 1, dropped: 0, queued: 12 }),
  });
  const scrape = async (): Promise<Sample[]> => parsePrometheus(await metrics.registry.metrics());
  return { runtime, metrics, scrape, setInFlight: (n: number) => (inFlight = n) };
}

describe("ServiceMetrics", () => {
  test("reports the serving model versions by kind, and drops a replaced version", async () => {
    const { runtime, scrape } = setup();
    expect((await scrape()).filter((s) => s.name === "agent_learning_active_model_info")).toEqual([]);
    await runtime.install(model("success", "v1"));
    await runtime.install(model("duration", "d1"));
    await runtime.install(model("success", "v2"));
    const info = (await scrape())
      .filter((s) => s.name === "agent_learning_active_model_info")
      .map((s) => [s.labels.kind, s.labels.version, s.value]);
    expect(info.sort()).toEqual([
      ["duration", "d1", 1],
      ["success", "v2", 1],
    ]);
    runtime.close();
  });

  test("reads the pool's connections by state and its waiting clients at scrape time", async () => {
    const samples = await setup().scrape();
    expect(sampleValue(samples, "agent_learning_db_pool_connections", { state: "acquired" })).toBe(2);
    expect(sampleValue(samples, "agent_learning_db_pool_connections", { state: "idle" })).toBe(5);
    expect(sampleValue(samples, "agent_learning_db_pool_connections", { state: "pending" })).toBe(1);
    expect(sampleValue(samples, "agent_learning_db_pool_waiting_clients")).toBe(3);
  });

  test("reads the recommendation log writer's queue and totals at scrape time", async () => {
    const samples = await setup().scrape();
    expect(sampleValue(samples, "agent_learning_recommendation_log_queued")).toBe(12);
    expect(sampleValue(samples, "agent_learning_recommendation_log_total", { event: "statements" })).toBe(4);
    expect(sampleValue(samples, "agent_learning_recommendation_log_total", { event: "answers" })).toBe(900);
    expect(sampleValue(samples, "agent_learning_recommendation_log_total", { event: "failures" })).toBe(1);
    expect(sampleValue(samples, "agent_learning_recommendation_log_total", { event: "dropped" })).toBe(0);
  });

  test("reads calls in flight at scrape time", async () => {
    const { scrape, setInFlight } = setup();
    setInFlight(7);
    expect(sampleValue(await scrape(), "agent_learning_rpc_in_flight")).toBe(7);
  });

  test("counts StreamInsights calls as subscribers from start to finish, and no other method", async () => {
    const { metrics, scrape } = setup();
    const stream = "agentlearning.v1.LearningService/StreamInsights";
    metrics.callStarted(stream);
    metrics.callStarted(stream);
    metrics.callStarted("agentlearning.v1.AdminService/ExportData");
    expect(sampleValue(await scrape(), "agent_learning_stream_subscribers")).toBe(2);
    metrics.callFinished({ method: stream, code: "OK", seconds: 12 });
    metrics.callFinished({ method: "agentlearning.v1.AdminService/ExportData", code: "OK", seconds: 1 });
    const samples = await scrape();
    expect(sampleValue(samples, "agent_learning_stream_subscribers")).toBe(1);
    expect(sampleValue(samples, "agent_learning_rpc_total", { method: stream, code: "OK" })).toBe(1);
  });

  test("counts retrainings by outcome and times only those that ran here", async () => {
    const { metrics, scrape } = setup();
    metrics.retrainFinished("activated", 4);
    metrics.retrainFinished("skipped");
    metrics.retrainFinished("failed", 1);
    const samples = await scrape();
    expect(sampleValue(samples, "agent_learning_retrain_total", { outcome: "activated" })).toBe(1);
    expect(sampleValue(samples, "agent_learning_retrain_total", { outcome: "skipped" })).toBe(1);
    expect(sampleValue(samples, "agent_learning_retrain_total", { outcome: "failed" })).toBe(1);
    expect(sampleValue(samples, "agent_learning_retrain_duration_seconds_count")).toBe(2);
    expect(sampleValue(samples, "agent_learning_retrain_duration_seconds_sum")).toBe(5);
  });

  test("keeps each service's figures on its own registry", async () => {
    const a = setup();
    const b = setup();
    a.metrics.executionsStored(3);
    expect(sampleValue(await a.scrape(), "agent_learning_executions_ingested_total")).toBe(3);
    expect(sampleValue(await b.scrape(), "agent_learning_executions_ingested_total")).toBe(0);
  });
});
