import { randomUUID } from "node:crypto";
import type { DatabasePool } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import { type DecisionLog, insertDecision, readCreditedDecisions } from "../../src/store/decisions.js";
import { agentSetKey } from "../../src/store/execution-record.js";
import { createStorePool } from "../../src/store/pool.js";
import { insertRecommendations } from "../../src/store/recommendations.js";
import { makeExecution } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";

// The decision log: one row per PredictAgents answer saying how its first team was chosen, and
// the executions recorded with that team's recommendation id credit it.

let server: TestServer;
let db: DatabasePool;

beforeAll(async () => {
  server = await startTestServer({ config: { evidenceCacheMs: 0, analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000 } });
  await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
  db = await createStorePool(server.databaseUrl, { maximumPoolSize: 2 });
});

afterAll(async () => {
  await db?.end();
  await server?.stop();
});

/** Logs a recommendation and its decision for `agents` directly in the store, as PredictAgents would. */
async function logDecision(taskType: string, agents: string[], propensity: number): Promise<DecisionLog> {
  const recommendationId = randomUUID();
  const requestId = randomUUID();
  const agentSet = agentSetKey(agents);
  await insertRecommendations(db, [
    {
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
    },
  ]);
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
  await insertDecision(db, decision);
  return decision;
}

describe("the decision log in the store", () => {
  it("credits a decision with the execution recorded with its recommendation id, followed when it ran the same team", async () => {
    const task = "store_credit";
    const followed = await logDecision(task, ["ARCHITECT", "CONSTRUCTOR"], 0.8);
    const other = await logDecision(task, ["ARCHITECT", "CONSTRUCTOR"], 0.7);
    await logDecision(task, ["ARCHITECT", "CONSTRUCTOR"], 0.6); // never executed: not credited
    await server.learning.recordExecution({
      execution: makeExecution({ taskType: task, agents: ["CONSTRUCTOR", "ARCHITECT"], success: false, recommendationId: followed.recommendation_id }),
    });
    await server.learning.recordExecution({ execution: makeExecution({ taskType: task, agents: ["WEB"], recommendationId: other.recommendation_id }) });
    const credited = await readCreditedDecisions(db, { taskType: task });
    expect(credited.map((d) => [d.decision_id, d.followed, d.success])).toEqual([
      [followed.decision_id, true, false],
      [other.decision_id, false, true],
    ]);
    expect(credited[0]).toMatchObject({ first_propensity: 0.8, executed_agent_set: "ARCHITECT,CONSTRUCTOR", top_teams: followed.top_teams });
    expect(credited[1]?.executed_agent_set).toBe("WEB");
  });

  it("reads only the decisions of the task type and time asked for", async () => {
    const task = "store_filter";
    const old = await logDecision(task, ["DOCGEN"], 1);
    await server.learning.recordExecution({ execution: makeExecution({ taskType: task, agents: ["DOCGEN"], recommendationId: old.recommendation_id }) });
    const since = Date.now() + 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const recent = await logDecision(task, ["DOCGEN"], 1);
    await server.learning.recordExecution({ execution: makeExecution({ taskType: task, agents: ["DOCGEN"], recommendationId: recent.recommendation_id }) });
    expect((await readCreditedDecisions(db, { taskType: task })).map((d) => d.decision_id)).toEqual([old.decision_id, recent.decision_id]);
    expect((await readCreditedDecisions(db, { taskType: task, sinceMs: since })).map((d) => d.decision_id)).toEqual([recent.decision_id]);
    expect((await readCreditedDecisions(db, { taskType: "store_credit", sinceMs: since })).length).toBe(0);
  });
});
