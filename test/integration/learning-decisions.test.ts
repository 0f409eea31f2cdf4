import { randomUUID } from "node:crypto";
import { type DatabasePool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { EstimateSource, LearningMode, type Recommendation } from "../../gen/agentlearning/v1/learning_pb.js";
import type { PredictAgentsResponse } from "../../gen/agentlearning/v1/learning_service_pb.js";
import {
  type Decision,
  type DecisionLog,
  readDecisionOfRecommendation,
  readDecisionsOfRecommendations,
} from "../../src/store/decisions.js";
import { logAnswers } from "../../src/store/answer-log.js";
import { readEvaluationLog } from "../../src/store/evaluation-log.js";
import { agentSetKey } from "../../src/store/execution-record.js";
import { createStorePool } from "../../src/store/pool.js";
import type { RecommendationLog } from "../../src/store/recommendations.js";
import { makeExecution } from "../support/executions.js";
import { mapConcurrently } from "../support/concurrently.js";
import { byKind, CACHED_EVIDENCE } from "../support/model-fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { asSet, recordWorldHistory } from "../support/world-history.js";

// The decision log: one row per PredictAgents answer saying how its first team was chosen, and
// the executions recorded with that team's recommendation id credit it.

const TASK = "web_development";

let server: TestServer;
let db: DatabasePool;

function predict(explorationRate: number, maxRecommendations = 5): Promise<PredictAgentsResponse> {
  return server.learning.predictAgents({ taskType: TASK, complexity: 2, explorationRate, maxRecommendations, successWeight: 0.8 });
}

/** The decision logged for an answer, found by the recommendation id of its first team. */
async function decisionOf(response: PredictAgentsResponse): Promise<{ first: Recommendation; decision: Decision }> {
  const first = response.recommendations[0];
  if (!first) throw new Error(`no recommendation (${response.explanation})`);
  await server.flushLogs();
  const decision = await readDecisionOfRecommendation(db, first.recommendationId);
  if (!decision) throw new Error(`no decision logged for ${first.recommendationId}`);
  return { first, decision };
}

const setOf = (agents: readonly string[]) => asSet(agents).join(",");

beforeAll(async () => {
  // No test here predicts from executions of TASK recorded after the 1,500 below (the credits
  // recorded later are not what any prediction is checked against): the 4,000 calls of the
  // propensity test share one snapshot and its ranking.
  server = await startTestServer({ config: CACHED_EVIDENCE });
  await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
  db = await createStorePool(server.databaseUrl, { maximumPoolSize: 2 });
  await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 1_500, seed: 611 });
});

afterAll(async () => {
  await db?.end();
  await server?.stop();
});

/** A recommendation of `agents` and its decision, as PredictAgents would log them. */
function answerOf(taskType: string, agents: string[], propensity: number): { recommendation: RecommendationLog; decision: DecisionLog } {
  const recommendationId = randomUUID();
  const requestId = randomUUID();
  const agentSet = agentSetKey(agents);
  const recommendation: RecommendationLog = {
    recommendationId,
    requestId,
    rank: 1,
    taskType,
    complexity: 2,
    agents,
    agentSet,
    successProbability: 0.5,
    expectedDurationSeconds: 60,
    confidence: 0.5,
    propensity,
    exploratory: false,
    source: "statistical",
    modelVersion: null,
    mode: "autonomous",
    applied: true,
    callerAgentSet: null,
    serviceAgentSet: null,
    serviceSuccessProbability: null,
  };
  const decision: DecisionLog = {
    decision_id: randomUUID(),
    request_id: requestId,
    task_type: taskType,
    complexity: 2,
    mode: "autonomous",
    policy: "statistical",
    model_versions: [],
    success_weight: 1,
    exploration: 0.3,
    candidate_count: 4,
    floor_propensity: 0.3 * 0.025,
    first_agent_set: agentSet,
    first_propensity: propensity,
    greedy_agent_set: agentSet,
    top_teams: [{ agent_set: agentSet, probability: propensity, success_probability: 0.5, expected_duration_seconds: 60 }],
    recommendation_id: recommendationId,
  };
  return { recommendation, decision };
}

/** Logs a recommendation and its decision for `agents` directly in the store, one statement each. */
async function logDecision(taskType: string, agents: string[], propensity: number): Promise<DecisionLog> {
  const { recommendation, decision } = answerOf(taskType, agents, propensity);
  await logAnswers(db, [{ recommendations: [recommendation], decision }]);
  return decision;
}

describe("the decision log in the store", () => {
  it("logs an answer's recommendations and its decision together or not at all", async () => {
    const good = answerOf("store_atomic", ["WEB"], 0.5);
    await logAnswers(db, [{ recommendations: [good.recommendation], decision: good.decision }]);
    expect(await readDecisionOfRecommendation(db, good.recommendation.recommendationId)).toMatchObject({
      decision_id: good.decision.decision_id,
    });
    // A propensity of 0 breaks the decision's CHECK: the recommendation must not stay behind.
    const bad = answerOf("store_atomic", ["WEB"], 0);
    await expect(logAnswers(db, [{ recommendations: [bad.recommendation], decision: bad.decision }])).rejects.toThrow();
    const left = await db.anyFirst(
      sql.type(
        z.object({ n: z.bigint() }),
      )`SELECT count(*) AS n FROM recommendations WHERE recommendation_id = ${bad.recommendation.recommendationId}`,
    );
    expect(left).toEqual([0n]);
  });

  it("credits a decision with the execution recorded with its recommendation id, followed when it ran the same team", async () => {
    const task = "store_credit";
    const followed = await logDecision(task, ["ARCHITECT", "CONSTRUCTOR"], 0.8);
    const other = await logDecision(task, ["ARCHITECT", "CONSTRUCTOR"], 0.7);
    await logDecision(task, ["ARCHITECT", "CONSTRUCTOR"], 0.6); // never executed: not credited
    await server.learning.recordExecution({
      execution: makeExecution({
        taskType: task,
        agents: ["CONSTRUCTOR", "ARCHITECT"],
        success: false,
        recommendationId: followed.recommendation_id,
      }),
    });
    await server.learning.recordExecution({
      execution: makeExecution({ taskType: task, agents: ["WEB"], recommendationId: other.recommendation_id }),
    });
    const credited = await readEvaluationLog(db, { taskType: task });
    expect(credited.map((d) => [d.decision_id, d.followed, d.success])).toEqual([
      [followed.decision_id, true, false],
      [other.decision_id, false, true],
    ]);
    expect(credited[0]).toMatchObject({
      first_propensity: 0.8,
      executed_agent_set: "ARCHITECT,CONSTRUCTOR",
      top_teams: followed.top_teams,
    });
    expect(credited[1]?.executed_agent_set).toBe("WEB");
  });

  it("reads only the decisions of the task type and time asked for", async () => {
    const task = "store_filter";
    const old = await logDecision(task, ["DOCGEN"], 1);
    await server.learning.recordExecution({
      execution: makeExecution({ taskType: task, agents: ["DOCGEN"], recommendationId: old.recommendation_id }),
    });
    const since = Date.now() + 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const recent = await logDecision(task, ["DOCGEN"], 1);
    await server.learning.recordExecution({
      execution: makeExecution({ taskType: task, agents: ["DOCGEN"], recommendationId: recent.recommendation_id }),
    });
    expect((await readEvaluationLog(db, { taskType: task })).map((d) => d.decision_id)).toEqual([old.decision_id, recent.decision_id]);
    expect((await readEvaluationLog(db, { taskType: task, sinceMs: since })).map((d) => d.decision_id)).toEqual([recent.decision_id]);
    expect((await readEvaluationLog(db, { taskType: "store_credit", sinceMs: since })).length).toBe(0);
  });
});

describe("PredictAgents' decisions", () => {
  it("logs one decision per answer: policy, mode, ε, candidates, the first team with its propensity, the greedy team and the top teams", async () => {
    const greedy = (await decisionOf(await predict(0))).first;
    const response = await predict(0.3);
    const { first, decision } = await decisionOf(response);
    expect(decision).toMatchObject({
      task_type: TASK,
      complexity: 2,
      mode: "autonomous",
      policy: "statistical",
      model_versions: [],
      success_weight: 0.8,
      exploration: 0.3,
      first_agent_set: setOf(first.agents),
      greedy_agent_set: setOf(greedy.agents),
      recommendation_id: first.recommendationId,
      shadow: null,
    });
    expect(decision.first_propensity).toBeCloseTo(first.propensity, 12);
    expect(decision.candidate_count).toBeGreaterThanOrEqual(5);
    expect(decision.floor_propensity).toBeCloseTo((0.3 * 0.1) / decision.candidate_count, 12);
    expect(first.propensity).toBeGreaterThanOrEqual(decision.floor_propensity);
    // The top teams, most likely first, and the floor for every other candidate, make up π.
    const probabilities = decision.top_teams.map((t) => t.probability);
    expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a));
    const unlisted = decision.candidate_count - decision.top_teams.length;
    expect(probabilities.reduce((s, p) => s + p, 0) + unlisted * decision.floor_propensity).toBeCloseTo(1, 9);
    expect(decision.top_teams.map((t) => t.agent_set)).toContain(decision.greedy_agent_set);
    // Every returned team's logged propensity is π: listed, or the floor.
    for (const r of response.recommendations) {
      const listed = decision.top_teams.find((t) => t.agent_set === setOf(r.agents));
      expect(r.propensity).toBeCloseTo(listed?.probability ?? decision.floor_propensity, 12);
    }
  });

  it("over 4,000 calls puts each team first as often as the decisions' logged propensities say, within 4 standard errors", async () => {
    const since = Date.now() - 1;
    const calls = 4000;
    // Eight callers at once, as an orchestrator's workers would.
    const responses = await mapConcurrently(calls, 8, () =>
      server.learning.predictAgents({ taskType: TASK, complexity: 2, explorationRate: 0.3, maxRecommendations: 1, successWeight: 0.8 }),
    );
    const firsts = responses.map((response) => response.recommendations[0]!.recommendationId);
    await server.flushLogs();
    const decisions = await readDecisionsOfRecommendations(db, firsts);
    expect(decisions).toHaveLength(calls);
    // Per team: first picks, Σ π and Σ π(1 − π) over the calls, π read from each decision (listed,
    // else the floor); the teams never listed are pooled, with π = (unlisted count) · floor.
    const tallies = new Map<string, { firsts: number; p: number; variance: number }>();
    const add = (team: string, first: boolean, p: number) => {
      const t = tallies.get(team) ?? { firsts: 0, p: 0, variance: 0 };
      tallies.set(team, { firsts: t.firsts + (first ? 1 : 0), p: t.p + p, variance: t.variance + p * (1 - p) });
    };
    const listed = new Set(decisions.flatMap((d) => d.top_teams.map((t) => t.agent_set)));
    for (const d of decisions) {
      expect(d.created_at_ms).toBeGreaterThanOrEqual(since);
      const own = new Map(d.top_teams.map((t) => [t.agent_set, t.probability]));
      for (const team of listed) add(team, d.first_agent_set === team, own.get(team) ?? d.floor_propensity);
      const unlisted = d.candidate_count - listed.size;
      add("(never listed)", !listed.has(d.first_agent_set), Math.max(0, unlisted) * d.floor_propensity);
    }
    expect(listed.size).toBeGreaterThan(3);
    for (const [team, t] of tallies) {
      expect(Math.abs(t.firsts - t.p), `${team}: ${t.firsts} first against Σπ = ${t.p.toFixed(1)}`).toBeLessThanOrEqual(
        4 * Math.sqrt(t.variance) + 1e-9,
      );
    }
  }, 240_000);

  it("with ε = 0 logs the greedy team first with propensity 1", async () => {
    const { first, decision } = await decisionOf(await predict(0));
    expect(first.propensity).toBe(1);
    expect(decision).toMatchObject({
      exploration: 0,
      floor_propensity: 0,
      first_propensity: 1,
      first_agent_set: decision.greedy_agent_set,
    });
    expect(decision.top_teams).toHaveLength(1);
  });

  it("logs a decision for the first team only: the other recommendation ids have none", async () => {
    const response = await predict(0.3);
    await server.flushLogs();
    for (const r of response.recommendations.slice(1)) expect(await readDecisionOfRecommendation(db, r.recommendationId)).toBeNull();
  });

  it("credits the decision with the execution recorded with its first recommendation id, followed or not", async () => {
    const since = Date.now() - 1;
    const followed = await decisionOf(await predict(0.3));
    const other = await decisionOf(await predict(0.3));
    const unused = await decisionOf(await predict(0.3));
    await server.learning.recordExecution({
      execution: makeExecution({
        taskType: TASK,
        agents: followed.first.agents,
        success: true,
        recommendationId: followed.first.recommendationId,
      }),
    });
    // Another team than the one recommended: one agent fewer, or one more.
    const elsewhere = other.first.agents.length > 1 ? other.first.agents.slice(1) : [...other.first.agents, "DOCGEN"];
    await server.learning.recordExecution({
      execution: makeExecution({ taskType: TASK, agents: elsewhere, success: false, recommendationId: other.first.recommendationId }),
    });
    const credited = await readEvaluationLog(db, { taskType: TASK, sinceMs: since });
    const byId = new Map(credited.map((d) => [d.decision_id, d]));
    expect(byId.get(followed.decision.decision_id)).toMatchObject({
      followed: true,
      success: true,
      first_propensity: followed.decision.first_propensity,
    });
    expect(byId.get(other.decision.decision_id)).toMatchObject({ followed: false, success: false, executed_agent_set: setOf(elsewhere) });
    expect(byId.has(unused.decision.decision_id)).toBe(false);
  });

  it("in observation mode logs the caller's own team as chosen with propensity 1, and the service's pick as the greedy team", async () => {
    await server.admin.setLearningMode({ mode: LearningMode.OBSERVATION });
    try {
      const caller = ["ARCHITECT", "CONSTRUCTOR"];
      const response = await server.learning.predictAgents({ taskType: TASK, complexity: 2, callerDefaultAgents: caller });
      const { decision } = await decisionOf(response);
      expect(decision).toMatchObject({
        mode: "observation",
        exploration: 0,
        first_agent_set: setOf(caller),
        first_propensity: 1,
        greedy_agent_set: setOf(response.observation?.servicePick ?? []),
      });
      expect(decision.top_teams.map((t) => [t.agent_set, t.probability])).toEqual([[setOf(caller), 1]]);
    } finally {
      await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
    }
  });

  it("names the model versions that ranked the teams when a model serves", async () => {
    const { success } = byKind((await server.admin.retrain({})).models);
    const response = await predict(0.3);
    const { first, decision } = await decisionOf(response);
    if (first.source !== EstimateSource.MODEL)
      throw new Error(`the model did not serve (${response.explanation}); ${success.version} ${success.rejectionReason}`);
    expect(decision.policy).toBe("model");
    expect(decision.model_versions).toEqual([first.modelVersion]);
    expect(first.modelVersion).toContain(success.version);
    expect(decision.first_propensity).toBeCloseTo(first.propensity, 12);
  });
});
