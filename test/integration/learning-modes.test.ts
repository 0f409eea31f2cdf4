import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import type {
  ObservationReport,
  PredictAgentsRequest,
  PredictAgentsRequestSchema,
  PredictAgentsResponse,
} from "../../gen/agentlearning/v1/learning_service_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { makeExecution } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { asSet, recordWorldHistory, world } from "../support/world-history.js";

// The learning modes change what PredictAgents answers (and whether analysis runs), and the
// setting is persisted and shared by every replica.

const TASK = "web_development";
const BEST = asSet(world.bestCombination(TASK));
/** A team the simulated orchestrator tries on its own, which is not the best one. */
const ORDINARY = ["PLANNER", "CONSTRUCTOR"];
/** A task type with too little history for advisory mode's threshold. */
const SPARSE = "documentation";

/** The fields of a PredictAgentsRequest a test sets. */
type PredictRequest = Exclude<MessageInitShape<typeof PredictAgentsRequestSchema>, PredictAgentsRequest>;

let server: TestServer;
const replicas: TestServer[] = [];

beforeAll(async () => {
  server = await startTestServer({ config: { evidenceCacheMs: 0, analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000 } });
  await server.admin.analyze({});
  await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 2_000, seed: 401 });
  await recordWorldHistory(server.learning, { taskTypes: [SPARSE], count: 12, seed: 402 });
});

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await server?.stop();
});

async function setMode(mode: LearningMode, learningEnabled = true): Promise<void> {
  const response = await server.admin.setLearningMode({ mode, learningEnabled });
  expect(response.mode).toBe(mode);
  expect(response.learningEnabled).toBe(learningEnabled);
}

function predict(request: PredictRequest = {}): Promise<PredictAgentsResponse> {
  return server.learning.predictAgents({ taskType: TASK, complexity: 2.0, ...request });
}

async function observe(callerDefaultAgents: string[]): Promise<ObservationReport> {
  const response = await predict({ callerDefaultAgents });
  if (!response.observation) throw new Error("observation mode answered without an ObservationReport");
  return response.observation;
}

async function errorOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

describe("SetLearningMode", () => {
  it("persists the mode: GetStatus reports it", async () => {
    await setMode(LearningMode.ADVISORY);
    expect((await server.admin.getStatus({})).learningMode).toBe(LearningMode.ADVISORY);
    await setMode(LearningMode.OBSERVATION);
    expect((await server.admin.getStatus({})).learningMode).toBe(LearningMode.OBSERVATION);
  });

  it("keeps the current mode when only learning_enabled is given", async () => {
    await setMode(LearningMode.ADAPTIVE);
    const response = await server.admin.setLearningMode({ learningEnabled: true });
    expect(response.mode).toBe(LearningMode.ADAPTIVE);
  });

  it("is seen by a second replica on the same database within 1.5 s", async () => {
    await setMode(LearningMode.ADAPTIVE);
    const replica = await startTestServer({
      databaseUrl: server.databaseUrl,
      config: { analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000 },
    });
    replicas.push(replica);
    // The replica has read (and cached) the old mode before the change.
    expect((await replica.admin.getStatus({})).learningMode).toBe(LearningMode.ADAPTIVE);
    await setMode(LearningMode.AUTONOMOUS);
    const changed = Date.now();
    let seen = LearningMode.ADAPTIVE;
    while (Date.now() - changed < 1_500) {
      seen = (await replica.admin.getStatus({})).learningMode;
      if (seen === LearningMode.AUTONOMOUS) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(seen).toBe(LearningMode.AUTONOMOUS);
    expect((await replica.learning.predictAgents({ taskType: TASK, complexity: 2, explorationRate: 0 })).mode).toBe(
      LearningMode.AUTONOMOUS,
    );
  });

  it("rejects mode 99 with INVALID_ARGUMENT naming the field", async () => {
    const error = await errorOf(server.admin.setLearningMode({ mode: 99 as LearningMode }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field))).toContain("mode");
  });
});

describe("observation mode", () => {
  beforeAll(async () => {
    await setMode(LearningMode.OBSERVATION);
  });

  it("returns the caller's default team unchanged, not applied", async () => {
    const response = await predict({ callerDefaultAgents: ORDINARY, maxRecommendations: 5 });
    expect(response.mode).toBe(LearningMode.OBSERVATION);
    expect(response.applied).toBe(false);
    expect(response.recommendations.map((r) => r.agents)).toEqual([ORDINARY]);
    expect(response.recommendations[0]?.propensity).toBe(1);
  });

  it("reports the service's own pick, the world's best team, in the ObservationReport", async () => {
    const report = await observe(ORDINARY);
    expect(asSet(report.servicePick)).toEqual(BEST);
    // The same pick the service makes when it is trusted to choose.
    await setMode(LearningMode.AUTONOMOUS);
    const own = await predict({ explorationRate: 0 });
    await setMode(LearningMode.OBSERVATION);
    expect(asSet(own.recommendations[0]?.agents ?? [])).toEqual(asSet(report.servicePick));
  });

  it("counts compared decisions and their agreement as they are logged", async () => {
    const start = await observe(ORDINARY);
    const compared = Number(start.comparedCount);
    const agreed = start.agreementRate * compared;
    // The report is read before the decision it answers is logged: each call shows the ones before it.
    for (let i = 0; i < 3; i++) await observe(BEST);
    const end = await observe(BEST);
    expect(Number(end.comparedCount)).toBe(compared + 4);
    expect(end.agreementRate).toBeCloseTo((agreed + 3) / (compared + 4), 12);
    expect(end.agreementRate).toBeGreaterThan(start.agreementRate);
    expect(end.agreementRate).toBeLessThanOrEqual(1);
  });

  it("reports how the callers' teams fared, and the service's estimate, where the two disagreed", async () => {
    // Outcomes recorded with the ids of two disagreeing decisions: one failed, one succeeded.
    for (const success of [false, true]) {
      const decision = (await predict({ callerDefaultAgents: ORDINARY })).recommendations[0];
      await server.learning.recordExecution({
        execution: makeExecution({
          taskType: TASK,
          agents: ORDINARY,
          complexity: 2,
          success,
          recommendationId: decision?.recommendationId ?? "",
        }),
      });
    }
    const report = await observe(ORDINARY);
    expect(report.callerSuccessRate).toBeCloseTo(0.5, 12);
    // The service would have picked the world's best team, which it estimates far above that.
    expect(report.serviceEstimatedSuccessRate).toBeGreaterThan(0.8);
    expect(report.serviceEstimatedSuccessRate).toBeLessThanOrEqual(1);
  });
});

describe("advisory mode", () => {
  beforeAll(async () => {
    await setMode(LearningMode.ADVISORY);
  });

  it("returns nothing, and says why, when confidence is below its threshold", async () => {
    const response = await predict({ taskType: SPARSE, maxRecommendations: 5 });
    expect(response.recommendations).toEqual([]);
    expect(response.applied).toBe(false);
    expect(response.explanation).toMatch(/threshold/);
    // Not for lack of candidates: autonomous mode answers the same request, with less confidence.
    await setMode(LearningMode.AUTONOMOUS);
    const autonomous = await predict({ taskType: SPARSE, maxRecommendations: 5, explorationRate: 0 });
    await setMode(LearningMode.ADVISORY);
    expect(autonomous.recommendations.length).toBeGreaterThan(0);
    for (const r of autonomous.recommendations) expect(r.confidence).toBeLessThan(0.8);
  });

  it("returns only confident recommendations, never exploring, once evidence is strong", async () => {
    const response = await predict({ maxRecommendations: 5, explorationRate: 1 });
    expect(response.recommendations.length).toBeGreaterThan(0);
    expect(response.applied).toBe(true);
    expect(asSet(response.recommendations[0]?.agents ?? [])).toEqual(BEST);
    for (const r of response.recommendations) {
      expect(r.confidence).toBeGreaterThanOrEqual(0.8);
      expect(r.exploratory).toBe(false);
    }
    expect(response.recommendations[0]?.propensity).toBe(1);
  });
});

describe("with learning disabled", () => {
  afterAll(async () => {
    await setMode(LearningMode.AUTONOMOUS, true);
  });

  it("PredictAgents recommends nothing and says so", async () => {
    await setMode(LearningMode.AUTONOMOUS, false);
    expect((await server.admin.getStatus({})).learningEnabled).toBe(false);
    const response = await predict({ callerDefaultAgents: ORDINARY });
    expect(response.recommendations).toEqual([]);
    expect(response.applied).toBe(false);
    expect(response.explanation).toMatch(/disabled/);
  });

  it("Analyze fails with FAILED_PRECONDITION", async () => {
    await setMode(LearningMode.AUTONOMOUS, false);
    const error = await errorOf(server.admin.analyze({}));
    expect(error.code).toBe(Code.FailedPrecondition);
  });

  it("re-enabling learning restores recommendations and analysis", async () => {
    await setMode(LearningMode.AUTONOMOUS, false);
    await setMode(LearningMode.AUTONOMOUS, true);
    const response = await predict({ explorationRate: 0 });
    expect(response.applied).toBe(true);
    expect(asSet(response.recommendations[0]?.agents ?? [])).toEqual(BEST);
    await expect(server.admin.analyze({})).resolves.toBeDefined();
  });
});
