import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluatePoliciesResponse, PolicyEvaluation } from "../../gen/agentlearning/v1/evaluation_pb.js";
import { EstimateSource, LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import { createRng } from "../../src/sim/random.js";
import { worldExecution } from "../../src/sim/world-execution.js";
import { byKind, ModelStatus, QUIET_MODELS } from "../support/model-fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world } from "../support/world-history.js";

// EvaluatePolicies with trained models: each stored success version the gate accepted is
// evaluated as its greedy first pick, and the estimate is held to the world's truth for the picks
// that version really makes (asked of PredictAgents with exploration off while it serves).

const TASK = "data_pipeline";
const DECISIONS = 300;

let server: TestServer;
let evaluation: EvaluatePoliciesResponse;
let successVersion: string;
/** Each followed decision's complexity. */
const followed: number[] = [];

beforeAll(async () => {
  server = await startTestServer({ config: QUIET_MODELS });
  await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
  await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 1_500, seed: 71, idPrefix: "model-policy-history" });
  const { success } = byKind((await server.admin.retrain({})).models);
  if (success.status !== ModelStatus.ACTIVE) throw new Error(`the success model was not activated: ${success.rejectionReason}`);
  successVersion = success.version;

  // Ten callers at a time, as a fleet asks: the answers do not depend on one another's order.
  const rng = createRng(72);
  for (let start = 0; start < DECISIONS; start += 10) {
    const complexities = Array.from({ length: 10 }, () => world.sampleComplexity(rng));
    const answers = await Promise.all(
      complexities.map((complexity) =>
        server.learning.predictAgents({ taskType: TASK, complexity, explorationRate: 0.3, successWeight: 1, maxRecommendations: 1 }),
      ),
    );
    const executions = answers.map((answer, k) => {
      const first = answer.recommendations[0];
      if (!first) throw new Error(`no recommendation: ${answer.explanation}`);
      const complexity = complexities[k]!;
      const outcome = world.sampleExecution(TASK, first.agents, complexity, rng);
      followed.push(complexity);
      return worldExecution(`model-policy-${start + k}`, { taskType: TASK, complexity, agents: first.agents }, outcome, {
        recommendationId: first.recommendationId,
      });
    });
    await Promise.all(executions.map((execution) => server.learning.recordExecution({ execution })));
  }
  evaluation = await server.admin.evaluatePolicies({ taskType: TASK });
}, 600_000);

afterAll(async () => {
  await server?.stop();
});

const policy = (name: string): PolicyEvaluation => {
  const found = evaluation.policies.find((p) => p.name === name);
  if (!found) throw new Error(`no policy ${name} in ${evaluation.policies.map((p) => p.name).join(", ")}`);
  return found;
};

describe("EvaluatePolicies with stored model versions", () => {
  it("evaluates the active success version as a policy, after today's statistical greedy pick", () => {
    const names = evaluation.policies.map((p) => p.name);
    expect(names).toContain(`greedy-model:${successVersion}`);
    expect(names.indexOf(`greedy-model:${successVersion}`)).toBe(names.indexOf("greedy-statistical") + 1);
    expect(policy(`greedy-model:${successVersion}`).description).toContain(successVersion);
  });

  it("estimates the version's greedy policy within 4 standard errors of its true value in the world", async () => {
    // The version's pick per complexity (as PredictAgents rounds it), asked while it serves, on
    // the evidence EvaluatePolicies saw: nothing was recorded since.
    const picks = new Map<number, string[]>();
    for (const complexity of new Set(followed.map((c) => Math.round(c * 4) / 4))) {
      const answer = await server.learning.predictAgents({
        taskType: TASK,
        complexity,
        explorationRate: 0,
        successWeight: 1,
        maxRecommendations: 1,
      });
      const first = answer.recommendations[0];
      if (!first) throw new Error(`no recommendation at ${complexity}: ${answer.explanation}`);
      expect(first.source).toBe(EstimateSource.MODEL);
      picks.set(complexity, [...first.agents]);
    }
    const truth = followed.reduce((s, c) => s + world.successProbability(TASK, picks.get(Math.round(c * 4) / 4)!, c), 0) / followed.length;
    const model = policy(`greedy-model:${successVersion}`);
    const dr = model.success!.doublyRobust!;
    expect(Math.abs(dr.value - truth)).toBeLessThan(4 * dr.standardError);
    expect(Number(model.matchedCount)).toBeGreaterThan(0);
    expect(model.supportedShare).toBe(1);
  });
});
