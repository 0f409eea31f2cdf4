import { Code, ConnectError, createClient, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { Execution } from "../../../gen/agentlearning/v1/execution_pb.js";
import { LearningMode } from "../../../gen/agentlearning/v1/learning_pb.js";
import { LearningService, type PredictAgentsRequest } from "../../../gen/agentlearning/v1/learning_service_pb.js";
import { simulate, WORLD_SEED } from "../../../src/sim/simulate.js";
import { createWorld } from "../../../src/sim/world.js";

const world = createWorld(WORLD_SEED);
const FIXED_NOW = () => Date.UTC(2025, 0, 1);

/** An in-memory LearningService that records what it is sent; predictAgents is the test's to define. */
function fakeService(predictAgents: ServiceImpl<typeof LearningService>["predictAgents"]) {
  const seen = { unary: [] as Execution[], bulkCalls: [] as Execution[][], predictions: [] as PredictAgentsRequest[] };
  const stored = new Map<string, Execution>();
  const transport = createRouterTransport(({ service }) =>
    service(LearningService, {
      async recordExecution(request) {
        const execution = request.execution!;
        seen.unary.push(execution);
        if (stored.has(execution.executionId)) throw new ConnectError("execution_id already stored with other content", Code.AlreadyExists);
        stored.set(execution.executionId, execution);
        return { execution };
      },
      async recordExecutions(requests) {
        const call: Execution[] = [];
        for await (const request of requests) call.push(...request.executions);
        seen.bulkCalls.push(call);
        for (const execution of call) stored.set(execution.executionId, execution);
        return { result: { storedCount: call.length, receivedCount: call.length } };
      },
      async predictAgents(request, context) {
        seen.predictions.push(request);
        return predictAgents(request, context);
      },
    }),
  );
  return { learning: createClient(LearningService, transport), seen, stored };
}

const unimplemented = async (): Promise<never> => {
  throw new ConnectError("PredictAgents is not available yet", Code.Unimplemented);
};

describe("simulate", () => {
  it("records every execution once, with ids sim-<seed>-<n>, in bulk chunks of at most 500 when not following", async () => {
    const service = fakeService(unimplemented);
    const summary = await simulate(service, { taskType: "web_development", count: 1_200, seed: 7, followShare: 0, now: FIXED_NOW });
    expect(service.seen.bulkCalls.map((call) => call.length)).toEqual([500, 500, 200]);
    expect(service.seen.predictions).toHaveLength(0);
    expect([...service.stored.keys()].sort()).toEqual(Array.from({ length: 1_200 }, (_, n) => `sim-7-${n}`).sort());
    expect(summary).toMatchObject({
      simulated: 1_200,
      stored: 1_200,
      duplicates: 0,
      rejected: 0,
      followed: 0,
      recommendationsUnavailable: null,
    });
  });

  it("records valid executions: the task type, a candidate team, the outcome, timestamps that span the duration", async () => {
    const service = fakeService(unimplemented);
    await simulate(service, { taskType: "bug_fix", count: 300, seed: 1, followShare: 0, now: FIXED_NOW });
    const candidates = new Set(world.candidateTeams("bug_fix").map((team) => team.join("+")));
    for (const execution of service.stored.values()) {
      expect(execution.taskType).toBe("bug_fix");
      expect(candidates.has(execution.agents.join("+"))).toBe(true);
      expect(execution.complexity).toBeGreaterThanOrEqual(0.5);
      expect(execution.complexity).toBeLessThanOrEqual(5);
      // An error message exactly when it failed.
      expect(execution.errorMessage === "").toBe(execution.success);
      expect(execution.recommendationId).toBe("");
      const span = Number(execution.finishedAt!.seconds - execution.startedAt!.seconds);
      expect(Math.abs(span - execution.durationSeconds)).toBeLessThanOrEqual(1);
      expect(execution.resourceUsage?.cpuPercent).toBeGreaterThan(0);
    }
  });

  it("keeps going without recommendations when PredictAgents is UNIMPLEMENTED, and says so once", async () => {
    const service = fakeService(unimplemented);
    const notices: string[] = [];
    const summary = await simulate(service, {
      taskType: "documentation",
      count: 100,
      seed: 3,
      followShare: 1,
      onNotice: (message) => notices.push(message),
    });
    expect(service.seen.predictions).toHaveLength(1);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain("UNIMPLEMENTED");
    expect(summary.recommendationsUnavailable).toBe("UNIMPLEMENTED: PredictAgents is not available yet");
    expect(summary).toMatchObject({ stored: 100, followed: 0 });
  });

  it("also rides out FAILED_PRECONDITION, but not other errors", async () => {
    const refusing = fakeService(async () => {
      throw new ConnectError("learning is disabled", Code.FailedPrecondition);
    });
    expect((await simulate(refusing, { taskType: "bug_fix", count: 10, seed: 1, followShare: 1 })).recommendationsUnavailable).toMatch(
      /^FAILED_PRECONDITION/,
    );
    const broken = fakeService(async () => {
      throw new ConnectError("boom", Code.Internal);
    });
    await expect(simulate(broken, { taskType: "bug_fix", count: 10, seed: 1, followShare: 1 })).rejects.toThrow(/boom/);
  });

  it("follows the top recommendation: its agents, its recommendation_id and model_version, recorded one by one", async () => {
    const best = world.bestCombination("security_audit");
    let issued = 0;
    const service = fakeService(async () => ({
      recommendations: [{ recommendationId: `rec-${issued++}`, agents: [...best], modelVersion: "m-1" }],
      applied: true,
      mode: LearningMode.AUTONOMOUS,
    }));
    const summary = await simulate(service, { taskType: "security_audit", count: 2_000, seed: 11, followShare: 0.5 });
    // Followed ≈ Binomial(2000, 0.5): standard deviation ≈ 22; ±150 is about 7 of them.
    expect(Math.abs(summary.followed - 1_000)).toBeLessThan(150);
    expect(summary.followedApplied).toBe(summary.followed);
    expect(service.seen.unary).toHaveLength(summary.followed);
    for (const execution of service.seen.unary) {
      expect(execution.agents).toEqual(best);
      expect(execution.recommendationId).toMatch(/^rec-\d+$/);
      expect(execution.modelVersion).toBe("m-1");
    }
    for (const request of service.seen.predictions) {
      expect(request).toMatchObject({ taskType: "security_audit", maxRecommendations: 1 });
      expect(world.candidateTeams("security_audit").map((t) => t.join("+"))).toContain(request.callerDefaultAgents.join("+"));
    }
    // The best team succeeds about 93% of the time at complexity 2; random candidates about 55%.
    expect(summary.followedSuccessRate!).toBeGreaterThan(summary.ownSuccessRate! + 0.2);
    expect(summary.stored).toBe(2_000);
  });

  it("uses its own team when the answer holds no recommendation, and keeps asking", async () => {
    const service = fakeService(async () => ({ recommendations: [], explanation: "below advisory threshold 0.8" }));
    const summary = await simulate(service, { taskType: "data_pipeline", count: 50, seed: 5, followShare: 1 });
    expect(service.seen.predictions).toHaveLength(50);
    expect(summary.followed).toBe(0);
    expect(summary.followedSuccessRate).toBeNull();
    expect(summary.stored).toBe(50);
  });

  it("replays the same executions from the same seed", async () => {
    const run = async () => {
      const service = fakeService(unimplemented);
      await simulate(service, { taskType: "all", count: 400, seed: 123, followShare: 0, now: FIXED_NOW });
      return [...service.stored.values()];
    };
    expect(await run()).toEqual(await run());
  });

  it('draws the task type per execution under "all", reaching every task type', async () => {
    const service = fakeService(unimplemented);
    await simulate(service, { taskType: "all", count: 500, seed: 9, followShare: 0 });
    expect(new Set([...service.stored.values()].map((e) => e.taskType))).toEqual(new Set(world.taskTypes));
  });

  it("counts an id stored with other content as a rejection instead of stopping", async () => {
    const service = fakeService(async () => ({ recommendations: [{ recommendationId: "r", agents: ["DOCGEN"] }], applied: true }));
    await simulate(service, { taskType: "documentation", count: 5, seed: 1, followShare: 1, now: FIXED_NOW });
    const again = await simulate(service, {
      taskType: "documentation",
      count: 5,
      seed: 1,
      followShare: 1,
      now: () => FIXED_NOW() + 60_000,
    });
    expect(again).toMatchObject({ stored: 0, rejected: 5 });
    expect(again.rejections[0]).toMatchObject({ executionId: "sim-1-0", code: "ALREADY_EXISTS" });
  });

  it("reports progress up to the total", async () => {
    const service = fakeService(unimplemented);
    const progress: number[] = [];
    await simulate(service, {
      taskType: "bug_fix",
      count: 20,
      seed: 1,
      followShare: 0,
      onProgress: (done, total) => progress.push(done / total),
    });
    expect(progress).toHaveLength(20);
    expect(progress.at(-1)).toBe(1);
  });

  it("rejects an unknown task type before calling anything", async () => {
    const service = fakeService(unimplemented);
    await expect(simulate(service, { taskType: "cooking", count: 1, seed: 1 })).rejects.toThrow(
      /unknown task type "cooking"; known: all, web_development/,
    );
    expect(service.stored.size).toBe(0);
  });
});
