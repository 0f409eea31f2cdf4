import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import { makeExecution } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory } from "../support/world-history.js";

// PredictAgents' rankings are rebuilt off the request path: when a task type's evidence moves on,
// the next call is answered from the previous snapshot's ranking while the new one is built, and
// the calls after that build from the new one.

const TASK = "web_development";

describe("rankings rebuilt in the background", () => {
  let server: TestServer;

  beforeAll(async () => {
    // Evidence re-read after 2 s, served at most 10 s: long enough to see the previous ranking.
    server = await startTestServer({ config: { evidenceCacheMs: 2_000 } });
    await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
    await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 300, seed: 911 });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** The greedy first team's agents and sample size, for one fixed request shape. */
  async function first(): Promise<{ agents: string[]; sampleSize: bigint }> {
    const response = await server.learning.predictAgents({ taskType: TASK, complexity: 2, maxRecommendations: 1, explorationRate: 0 });
    const top = response.recommendations[0];
    if (!top) throw new Error(response.explanation);
    return { agents: top.agents, sampleSize: top.sampleSize };
  }

  it("answers from the previous ranking once, then from the new evidence", async () => {
    const before = await first();
    const added = 5n;
    for (let i = 0n; i < added; i++) {
      await server.learning.recordExecution({ execution: makeExecution({ taskType: TASK, agents: before.agents, success: true }) });
    }
    // PredictOutcome reads the evidence cache directly: wait until it holds the new snapshot.
    const outcome = () => server.learning.predictOutcome({ taskType: TASK, complexity: 2, agents: before.agents });
    await expect.poll(async () => (await outcome()).sampleSize, { timeout: 30_000, interval: 200 }).toBe(before.sampleSize + added);
    // The ranking of this shape was built on the previous snapshot: it answers this call, and the
    // new snapshot's ranking is built meanwhile.
    expect((await first()).sampleSize).toBe(before.sampleSize);
    await expect.poll(async () => (await first()).sampleSize, { timeout: 30_000, interval: 50 }).toBe(before.sampleSize + added);
  });

  it("builds the ranking of a shape it has not seen on the call itself, from the newest evidence", async () => {
    const response = await server.learning.predictAgents({
      taskType: TASK,
      complexity: 2,
      maxRecommendations: 1,
      excludedAgents: ["DOCGEN"],
    });
    const top = response.recommendations[0];
    if (!top) throw new Error(response.explanation);
    const outcome = await server.learning.predictOutcome({ taskType: TASK, complexity: 2, agents: top.agents });
    expect(top.sampleSize).toBe(outcome.sampleSize);
  });
});
