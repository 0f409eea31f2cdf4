import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelStatus } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { EstimateSource, LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import { makeExecution } from "../support/executions.js";
import { parsePrometheus } from "../support/prometheus.js";
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

describe("rankings built ahead of a model swap", () => {
  let server: TestServer;

  beforeAll(async () => {
    // Evidence kept for a minute: nothing is recorded after the history, so every call below
    // reads the one snapshot, and any ranking built is the swap's or a call's.
    server = await startTestServer({ config: { evidenceCacheMs: 60_000 } });
    await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
    await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 2_000, seed: 912 });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** Rankings built so far, by where (agent_learning_ranking_builds_total). */
  async function builds(): Promise<{ call: number; background: number; swap: number }> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const out = { call: 0, background: 0, swap: 0 };
    for (const s of parsePrometheus(text)) {
      const on = s.labels.on;
      if (s.name === "agent_learning_ranking_builds_total" && (on === "call" || on === "background" || on === "swap")) out[on] = s.value;
    }
    return out;
  }

  const shapes = [1, 2, 3.5].map((complexity) => ({ taskType: TASK, complexity, maxRecommendations: 2 }));

  it("serves a new model only once the shapes callers asked for are built for it, so no call waits for one", async () => {
    for (const shape of shapes) await server.learning.predictAgents(shape);
    const before = await builds();
    expect(before.call).toBeGreaterThanOrEqual(1);

    const retrain = await server.admin.retrain({});
    expect(retrain.models.map((m) => m.status)).toEqual([ModelStatus.ACTIVE, ModelStatus.ACTIVE]);
    const afterSwap = await builds();
    // One build per shape and complexity for each of the two swaps (success, then duration).
    expect(afterSwap.swap - before.swap).toBeGreaterThanOrEqual(shapes.length);

    for (const shape of shapes) {
      const answer = await server.learning.predictAgents(shape);
      expect(answer.recommendations[0]?.source).toBe(EstimateSource.MODEL);
    }
    expect((await builds()).call).toBe(afterSwap.call);

    // A shape nobody asked for before the swap is built on its first call.
    await server.learning.predictAgents({ taskType: TASK, complexity: 7, maxRecommendations: 2 });
    expect((await builds()).call).toBe(afterSwap.call + 1);
  });
});
