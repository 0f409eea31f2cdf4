import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { EstimateSource, LearningMode, type Recommendation } from "../../gen/agentlearning/v1/learning_pb.js";
import type {
  PredictAgentsRequest,
  PredictAgentsRequestSchema,
  PredictAgentsResponse,
} from "../../gen/agentlearning/v1/learning_service_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { makeExecution } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { asSet, countTeam, recordInBulk, recordWorldHistory, world } from "../support/world-history.js";

// PredictAgents and PredictOutcome on the synthetic world, whose true best team and clashing pair
// are known: what they rank first, what they avoid, the figures they report and what they log.

const TASK = "web_development";
const BEST = asSet(world.bestCombination(TASK));
const BAD_PAIR = world.badPair(TASK);
const holdsBadPair = (agents: readonly string[]) => BAD_PAIR.every((a) => agents.includes(a));

/** The fields of a PredictAgentsRequest a test sets. */
type PredictRequest = Exclude<MessageInitShape<typeof PredictAgentsRequestSchema>, PredictAgentsRequest>;

let server: TestServer;
let history: Awaited<ReturnType<typeof recordWorldHistory>>;

beforeAll(async () => {
  // Predictions read the evidence as it is (no cache age); analysis never runs on its own.
  server = await startTestServer({ config: { evidenceCacheMs: 0, analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000 } });
  await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
  history = await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 3_000, seed: 301 });
});

afterAll(async () => {
  await server?.stop();
});

/** PredictAgents without exploration, so the answer is the greedy ranking. */
function predict(request: PredictRequest = {}): Promise<PredictAgentsResponse> {
  return server.learning.predictAgents({ taskType: TASK, complexity: 2.0, explorationRate: 0, ...request });
}

function top(response: PredictAgentsResponse): Recommendation {
  const first = response.recommendations[0];
  if (!first) throw new Error(`no recommendation (${response.explanation})`);
  return first;
}

describe("PredictAgents after 3,000 executions of web_development", () => {
  it("ranks the world's best team first at complexity 2.0", async () => {
    const response = await predict();
    expect(asSet(top(response).agents)).toEqual(BEST);
    expect(response.applied).toBe(true);
    expect(response.coldStart).toBe(false);
    expect(response.mode).toBe(LearningMode.AUTONOMOUS);
  });

  it("returns no team holding the bad pair, among its 20 best", async () => {
    const response = await predict({ maxRecommendations: 20 });
    expect(response.recommendations).toHaveLength(20);
    for (const r of response.recommendations) expect(holdsBadPair(r.agents), r.agents.join("+")).toBe(false);
  });

  it("gives success intervals that contain the success probability and lie in [0, 1]", async () => {
    const response = await predict({ maxRecommendations: 20 });
    for (const r of response.recommendations) {
      const interval = r.successInterval;
      expect(interval, r.agents.join("+")).toBeDefined();
      expect(interval?.lower).toBeGreaterThanOrEqual(0);
      expect(interval?.upper).toBeLessThanOrEqual(1);
      expect(interval?.lower).toBeLessThanOrEqual(r.successProbability);
      expect(interval?.upper).toBeGreaterThanOrEqual(r.successProbability);
      expect(interval?.level).toBe(0.9);
      expect(r.confidence).toBeGreaterThanOrEqual(0);
      expect(r.confidence).toBeLessThanOrEqual(1);
    }
  });

  it("reports for each team the number of its executions recorded", async () => {
    const response = await predict({ maxRecommendations: 20 });
    for (const r of response.recommendations) expect(r.sampleSize, r.agents.join("+")).toBe(BigInt(countTeam(history, TASK, r.agents)));
  });

  it("logs every recommendation it returns, with that propensity, in the recommendations table", async () => {
    const response = await predict({ maxRecommendations: 5 });
    const ids = response.recommendations.map((r) => r.recommendationId);
    expect(new Set(ids).size).toBe(5);
    await server.flushLogs();
    const rows = await server.db.any(
      sql.type(z.object({ recommendation_id: z.string(), propensity: z.number(), agents: z.array(z.string()), rank: z.number() }))`
        SELECT recommendation_id, propensity, agents, rank FROM recommendations WHERE recommendation_id = ANY(${sql.array(ids, "text")})`,
    );
    expect(rows).toHaveLength(5);
    for (const [i, r] of response.recommendations.entries()) {
      const row = rows.find((x) => x.recommendation_id === r.recommendationId);
      expect(row?.propensity).toBeGreaterThanOrEqual(0);
      expect(row?.propensity).toBeLessThanOrEqual(1);
      expect(row?.propensity).toBeCloseTo(r.propensity, 12);
      expect(row?.agents).toEqual(r.agents);
      expect(row?.rank).toBe(i + 1);
    }
  });

  it("gives its top recommendation propensity 1 and the others 0 when exploration_rate is 0", async () => {
    const response = await predict({ maxRecommendations: 5 });
    expect(response.recommendations.map((r) => r.propensity)).toEqual([1, 0, 0, 0, 0]);
    expect(response.recommendations.some((r) => r.exploratory)).toBe(false);
  });

  it("counts an execution recorded with a recommendation_id in GetStatus.prediction_accuracy", async () => {
    // A task type of its own, so the history of TASK that the other cases count stays as recorded.
    const taskType = "accuracy_probe";
    const before = (await server.admin.getStatus({})).predictionAccuracy;
    const recommendation = top(await predict({ taskType }));
    await server.learning.recordExecution({
      execution: makeExecution({
        taskType,
        agents: recommendation.agents,
        complexity: 2,
        success: true,
        recommendationId: recommendation.recommendationId,
      }),
    });
    const after = (await server.admin.getStatus({})).predictionAccuracy;
    expect(after?.evaluatedCount).toBe((before?.evaluatedCount ?? 0n) + 1n);
    expect(after?.brierScore).toBeGreaterThanOrEqual(0);
    expect(after?.brierScore).toBeLessThanOrEqual(1);
    expect(after?.brierScore).toBeGreaterThan(0);
    expect(after?.observedSuccessRate).toBe(1);
  });
});

describe("PredictAgents constraints", () => {
  it("puts every required agent in every team", async () => {
    const required = ["LINTER", "PLANNER"];
    const response = await predict({ maxRecommendations: 10, requiredAgents: required });
    expect(response.recommendations.length).toBeGreaterThan(0);
    for (const r of response.recommendations) expect(r.agents).toEqual(expect.arrayContaining(required));
  });

  it("puts no excluded agent in any team", async () => {
    const excluded = ["WEB", "TESTBED"];
    const response = await predict({ maxRecommendations: 10, excludedAgents: excluded });
    expect(response.recommendations.length).toBeGreaterThan(0);
    for (const r of response.recommendations) for (const agent of excluded) expect(r.agents).not.toContain(agent);
  });

  it("makes no team larger than max_agents", async () => {
    const response = await predict({ maxRecommendations: 10, maxAgents: 2 });
    expect(response.recommendations.length).toBeGreaterThan(0);
    for (const r of response.recommendations) expect(r.agents.length).toBeLessThanOrEqual(2);
  });
});

describe("PredictAgents on a task type with no history", () => {
  let response: PredictAgentsResponse;
  beforeAll(async () => {
    response = await predict({ taskType: "quantum_gardening" });
  });

  it("answers from the catalog, marked cold_start", () => {
    expect(response.coldStart).toBe(true);
    expect(response.recommendations.length).toBeGreaterThan(0);
    for (const r of response.recommendations) {
      expect(r.source).toBe(EstimateSource.CATALOG);
      expect(r.sampleSize).toBe(0n);
    }
  });

  it("reports low confidence (below 0.5)", () => {
    for (const r of response.recommendations) expect(r.confidence).toBeLessThan(0.5);
  });

  it("says in its explanation that there is no history", () => {
    expect(response.explanation).toMatch(/no history/i);
  });
});

describe("PredictOutcome after 3,000 executions of web_development", () => {
  const badTeam = world.candidateTeams(TASK).find(holdsBadPair) ?? [];

  it("estimates the best team's success clearly above a team holding the bad pair", async () => {
    const best = await server.learning.predictOutcome({ taskType: TASK, complexity: 2.0, agents: BEST });
    const bad = await server.learning.predictOutcome({ taskType: TASK, complexity: 2.0, agents: [...badTeam] });
    expect(best.successProbability - bad.successProbability).toBeGreaterThan(0.4);
    expect(best.source).not.toBe(EstimateSource.CATALOG);
    for (const o of [best, bad]) {
      expect(o.successInterval?.lower).toBeLessThanOrEqual(o.successProbability);
      expect(o.successInterval?.upper).toBeGreaterThanOrEqual(o.successProbability);
    }
  });

  it("reports as sample_size the number of executions of exactly that team", async () => {
    for (const team of [[...BEST], [...badTeam], ["WEB", "APIDESIGNER"]]) {
      const outcome = await server.learning.predictOutcome({ taskType: TASK, complexity: 2.0, agents: team });
      expect(outcome.sampleSize, team.join("+")).toBe(BigInt(countTeam(history, TASK, team)));
      expect(outcome.sampleSize).toBeGreaterThan(0n);
    }
  });

  it("ignores the order in which the team is given", async () => {
    const forward = await server.learning.predictOutcome({ taskType: TASK, complexity: 2.0, agents: [...badTeam] });
    const backward = await server.learning.predictOutcome({ taskType: TASK, complexity: 2.0, agents: [...badTeam].reverse() });
    expect(backward.successProbability).toBe(forward.successProbability);
    expect(backward.sampleSize).toBe(forward.sampleSize);
  });
});

describe("evidence behind predictions", () => {
  it("counts executions recorded just before a prediction when evidenceCacheMs is 0", async () => {
    const taskType = "fresh_evidence";
    const team = ["ARCHITECT", "DEBUGGER"];
    const record = (n: number) =>
      recordInBulk(
        server.learning,
        Array.from({ length: n }, () => makeExecution({ taskType, agents: team })),
      );
    await record(5);
    expect((await server.learning.predictOutcome({ taskType, complexity: 2, agents: team })).sampleSize).toBe(5n);
    await record(5);
    expect((await server.learning.predictOutcome({ taskType, complexity: 2, agents: team })).sampleSize).toBe(10n);
  });

  it("grows the top recommendation's confidence from 200 to 3,000 executions", async () => {
    const taskType = "bug_fix";
    await recordWorldHistory(server.learning, { taskTypes: [taskType], count: 200, seed: 302 });
    const early = top(await predict({ taskType }));
    await recordWorldHistory(server.learning, { taskTypes: [taskType], count: 2_800, seed: 303 });
    const late = top(await predict({ taskType }));
    expect(late.confidence).toBeGreaterThan(early.confidence);
    expect(late.sampleSize).toBeGreaterThan(early.sampleSize);
  });
});

describe("PredictAgents validation", () => {
  it.each<[string, PredictRequest, string]>([
    ["an empty task_type", { taskType: "" }, "task_type"],
    ["complexity 11", { complexity: 11 }, "complexity"],
    ["max_recommendations 21", { maxRecommendations: 21 }, "max_recommendations"],
    ["success_weight 1.5", { successWeight: 1.5 }, "success_weight"],
    ["an agent both required and excluded", { requiredAgents: ["WEB"], excludedAgents: ["web"] }, "excluded_agents"],
  ])("rejects %s with INVALID_ARGUMENT naming the field", async (_, request, field) => {
    const error = await predict(request).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code, error?.message).toBe(Code.InvalidArgument);
    expect(error?.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field))).toContain(field);
  });
});
