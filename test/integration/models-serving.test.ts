import { Code, ConnectError } from "@connectrpc/connect";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ModelVersion } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { EstimateSource, LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import type { PredictAgentsResponse } from "../../gen/agentlearning/v1/learning_service_pb.js";
import {
  activationHistory,
  activeVersionsInSql,
  byKind,
  ModelKind,
  ModelStatus,
  pollUntil,
  QUIET_MODELS,
  reportFigures,
} from "../support/model-fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world } from "../support/world-history.js";

// Serving trained models: which answers the model gives and which it leaves to statistics, roll
// back through ActivateModel, swapping versions under continuous load, and a second replica
// following activations made through the first.

/** Task types with plenty of history. */
const MAIN = ["web_development", "security_audit", "data_pipeline"];
/** Recorded first (so every row is in the training window): 49 rows, one short of the minimum. */
const FEW = "documentation";
/** Recorded first too: exactly the minimum, 50 rows. */
const JUST_ENOUGH = "bug_fix";

let server: TestServer;
type Pair = { success: ModelVersion; duration: ModelVersion };
let v1: Pair;
let v2: Pair;
let v3: Pair;

/** "success,duration" as predictions and GetStatus name the serving pair. */
const named = (success: ModelVersion, duration: ModelVersion) => `${success.version},${duration.version}`;

/** Retrains and insists both new versions passed the gate (the tests below need new serving versions). */
async function retrainAccepted(): Promise<Pair> {
  const pair = byKind((await server.admin.retrain({})).models);
  for (const m of [pair.success, pair.duration]) {
    if (m.status !== ModelStatus.ACTIVE) throw new Error(`${m.version} was not activated: ${m.rejectionReason}`);
  }
  return pair;
}

function predict(taskType: string, complexity = 2): Promise<PredictAgentsResponse> {
  return server.learning.predictAgents({ taskType, complexity, explorationRate: 0, successWeight: 1, maxRecommendations: 5 });
}

beforeAll(async () => {
  server = await startTestServer({ config: QUIET_MODELS });
  await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
  await recordWorldHistory(server.learning, { taskTypes: [FEW], count: 49, seed: 3_301, idPrefix: "few" });
  await recordWorldHistory(server.learning, { taskTypes: [JUST_ENOUGH], count: 50, seed: 3_302, idPrefix: "enough" });
  await recordWorldHistory(server.learning, { taskTypes: MAIN, count: 3_000, seed: 3_303 });
  v1 = await retrainAccepted();
});

afterAll(async () => {
  await server?.stop();
});

describe("predictions after a retrain", () => {
  it("trained the success model on 49 rows of one task type and 50 of another (feature map in SQL)", async () => {
    const map = await server.db.oneFirst(sql.type(z.object({ feature_map: z.object({ taskTypeRows: z.record(z.string(), z.number()) }) }))`
      SELECT feature_map FROM model_versions WHERE version = ${v1.success.version}`);
    expect(map.taskTypeRows[FEW]).toBe(49);
    expect(map.taskTypeRows[JUST_ENOUGH]).toBe(50);
  });

  it("answers PredictAgents with source MODEL and the active versions for a task type with enough data", async () => {
    for (const taskType of [...MAIN, JUST_ENOUGH]) {
      const response = await predict(taskType);
      expect(response.recommendations.length, taskType).toBeGreaterThan(0);
      for (const r of response.recommendations) {
        expect(r.source, taskType).toBe(EstimateSource.MODEL);
        expect(r.modelVersion, taskType).toBe(named(v1.success, v1.duration));
      }
      expect(response.explanation, taskType).toContain(v1.success.version);
    }
  });

  it("falls back to STATISTICAL for a task type the model has fewer than 50 rows of, and says so", async () => {
    const response = await predict(FEW);
    expect(response.recommendations.length).toBeGreaterThan(0);
    for (const r of response.recommendations) {
      expect(r.source).toBe(EstimateSource.STATISTICAL);
      expect(r.modelVersion).toBe("");
    }
    expect(response.explanation).toMatch(/statistical/i);
    expect(response.explanation).toMatch(/too little data/i);
  });

  it("says in PredictOutcome which model version answered, and none when statistics did", async () => {
    const team = [...world.bestCombination("web_development")];
    const modelled = await server.learning.predictOutcome({ taskType: "web_development", complexity: 2, agents: team });
    expect(modelled.source).toBe(EstimateSource.MODEL);
    expect(modelled.modelVersion).toBe(named(v1.success, v1.duration));
    const statistical = await server.learning.predictOutcome({ taskType: FEW, complexity: 2, agents: [...world.bestCombination(FEW)] });
    expect(statistical.source).toBe(EstimateSource.STATISTICAL);
    expect(statistical.modelVersion).toBe("");
  });

  it("lets the model's answer depend on complexity: the same team is less likely to succeed at 5 than at 1", async () => {
    const agents = [...world.bestCombination("security_audit")];
    const easy = await server.learning.predictOutcome({ taskType: "security_audit", complexity: 1, agents });
    const hard = await server.learning.predictOutcome({ taskType: "security_audit", complexity: 5, agents });
    expect(easy.source).toBe(EstimateSource.MODEL);
    expect(easy.successProbability).toBeGreaterThan(hard.successProbability);
    expect(easy.expectedDurationSeconds).toBeLessThan(hard.expectedDurationSeconds);
  });
});

describe("rollback with ActivateModel", () => {
  let activated: ModelVersion | undefined;
  beforeAll(async () => {
    await recordWorldHistory(server.learning, { taskTypes: MAIN, count: 1_500, seed: 3_304 });
    v2 = await retrainAccepted();
    activated = (await server.admin.activateModel({ version: v1.success.version })).model;
  });

  it("answers with the first success version, now ACTIVE", () => {
    expect(activated?.version).toBe(v1.success.version);
    expect(activated?.status).toBe(ModelStatus.ACTIVE);
    expect(activated?.kind).toBe(ModelKind.SUCCESS);
  });

  it("shows the first success version active again in ListModels, and the second inactive", async () => {
    const { models } = await server.admin.listModels({ kind: ModelKind.SUCCESS });
    const status = (v: ModelVersion) => models.find((m) => m.version === v.version)?.status;
    expect(status(v1.success)).toBe(ModelStatus.ACTIVE);
    expect(status(v2.success)).toBe(ModelStatus.INACTIVE);
    expect(models.filter((m) => m.status === ModelStatus.ACTIVE)).toHaveLength(1);
  });

  it("leaves the other kind alone: the second duration version stays active", async () => {
    const status = await server.admin.getStatus({});
    expect(status.activeModelVersion).toBe(named(v1.success, v2.duration));
    expect(status.activeModels.map((m) => m.version).sort()).toEqual([v1.success.version, v2.duration.version].sort());
    expect((await activeVersionsInSql(server)).map((a) => a.version).sort()).toEqual([v1.success.version, v2.duration.version].sort());
  });

  it("names the rolled-back version in PredictAgents and PredictOutcome", async () => {
    const response = await predict("web_development");
    for (const r of response.recommendations) expect(r.modelVersion).toBe(named(v1.success, v2.duration));
    const outcome = await server.learning.predictOutcome({
      taskType: "data_pipeline",
      complexity: 2,
      agents: [...world.bestCombination("data_pipeline")],
    });
    expect(outcome.modelVersion).toBe(named(v1.success, v2.duration));
  });

  it("records every activation in model_activations, in order", async () => {
    const history = await activationHistory(server);
    expect(history.map((h) => h.version)).toEqual([v1.success, v1.duration, v2.success, v2.duration, v1.success].map((m) => m.version));
    expect(history.map((h) => h.kind)).toEqual(["success", "duration", "success", "duration", "success"]);
    for (const h of history) expect(h.reason.length).toBeGreaterThan(0);
  });
});

describe("swapping versions while 20 clients call PredictAgents continuously", () => {
  const CLIENTS = 20;
  const responses: { modelVersions: string[]; sources: EstimateSource[]; ms: number }[] = [];
  const failures: string[] = [];
  const swapLog: string[] = [];

  beforeAll(async () => {
    let running = true;
    const client = async (c: number) => {
      for (let n = 0; running; n++) {
        const taskType = MAIN[(c + n) % MAIN.length]!;
        const started = performance.now();
        try {
          const response = await predict(taskType);
          responses.push({
            modelVersions: response.recommendations.map((r) => r.modelVersion),
            sources: response.recommendations.map((r) => r.source),
            ms: performance.now() - started,
          });
        } catch (error) {
          failures.push(error instanceof ConnectError ? `${Code[error.code]}: ${error.rawMessage}` : String(error));
        }
      }
    };
    const load = Array.from({ length: CLIENTS }, (_, c) => client(c));
    const pause = () => new Promise((resolve) => setTimeout(resolve, 150));
    try {
      await pause();
      // New data first, so this Retrain trains (and, passing the gate, activates) new versions.
      await recordWorldHistory(server.learning, { taskTypes: MAIN, count: 1_000, seed: 3_305 });
      v3 = await retrainAccepted();
      swapLog.push(`retrain → ${named(v3.success, v3.duration)}`);
      const sequence = [v1.success, v2.success, v1.duration, v3.success, v2.duration, v1.success, v3.duration, v3.success];
      for (const model of sequence) {
        await pause();
        await server.admin.activateModel({ version: model.version });
        swapLog.push(model.version);
      }
      await pause();
    } finally {
      running = false;
      await Promise.all(load);
    }
    const latencies = responses.map((r) => r.ms).sort((a, b) => a - b);
    reportFigures("hot swap under load", {
      clients: CLIENTS,
      requests: responses.length + failures.length,
      failures: failures.length,
      distinctVersions: new Set(responses.flatMap((r) => r.modelVersions)).size,
      p50ms: latencies[Math.floor(latencies.length / 2)],
      p99ms: latencies[Math.floor(latencies.length * 0.99)],
      maxMs: latencies.at(-1),
      swaps: swapLog,
    });
  }, 120_000);

  it("fails no request", () => {
    expect(failures.slice(0, 5)).toEqual([]);
    expect(responses.length).toBeGreaterThan(CLIENTS * 10);
  });

  it("answers every request from the model", () => {
    for (const r of responses) {
      expect(r.sources.length).toBeGreaterThan(0);
      expect(r.sources.every((s) => s === EstimateSource.MODEL)).toBe(true);
    }
  });

  it("names only known versions, one success and one duration version per answer, the same for all its recommendations", () => {
    const successes = new Set([v1, v2, v3].map((p) => p.success.version));
    const durations = new Set([v1, v2, v3].map((p) => p.duration.version));
    for (const r of responses) {
      expect(new Set(r.modelVersions).size, r.modelVersions.join(" | ")).toBe(1);
      const [success, duration, ...rest] = (r.modelVersions[0] ?? "").split(",");
      expect(successes.has(success ?? ""), r.modelVersions[0]).toBe(true);
      expect(durations.has(duration ?? ""), r.modelVersions[0]).toBe(true);
      expect(rest).toEqual([]);
    }
  });

  it("served several versions during the run (the swaps happened under load)", () => {
    const served = new Set(responses.map((r) => r.modelVersions[0]?.split(",")[0]));
    expect(served.size).toBeGreaterThanOrEqual(3);
  });

  it("ends serving the versions activated last, as recorded in SQL", async () => {
    const status = await server.admin.getStatus({});
    expect(status.activeModelVersion).toBe(named(v3.success, v3.duration));
    expect((await activeVersionsInSql(server)).map((a) => a.version).sort()).toEqual([v3.success.version, v3.duration.version].sort());
    const response = await predict("security_audit");
    for (const r of response.recommendations) expect(r.modelVersion).toBe(named(v3.success, v3.duration));
  });
});

describe("two concurrent ActivateModel calls for the same kind, while a third version is active", () => {
  const failures: string[] = [];
  const mismatches: string[] = [];
  /** Rounds in which the version left active is not the one activated last (model_activations). */
  const wrongWinners: string[] = [];

  beforeAll(async () => {
    for (let round = 0; round < 6; round++) {
      // The third version active first: both calls must then retire it and install their own.
      await server.admin.activateModel({ version: v3.success.version });
      const [a, b] = round % 2 === 0 ? [v1.success, v2.success] : [v2.success, v1.success];
      const settledCalls = await Promise.allSettled([
        server.admin.activateModel({ version: a.version }),
        server.admin.activateModel({ version: b.version }),
      ]);
      for (const call of settledCalls) {
        if (call.status === "rejected") {
          const e: unknown = call.reason;
          failures.push(`round ${round}: ${e instanceof ConnectError ? `${Code[e.code]} ${e.rawMessage}` : String(e)}`);
        }
      }
      const inSql = async () => (await activeVersionsInSql(server)).find((x) => x.kind === "success")?.version;
      // Activations of a kind are serialised by a lock and logged under it: the last two rows are
      // these two calls, in the order they got the lock, and the later one must be what stays active.
      const lastTwo = (await activationHistory(server))
        .filter((x) => x.kind === "success")
        .slice(-2)
        .map((x) => x.version);
      const active = await inSql();
      if ([...lastTwo].sort().join() !== [a.version, b.version].sort().join() || active !== lastTwo[1]) {
        wrongWinners.push(`round ${round}: activated last ${lastTwo.join(" then ")}, active ${active}`);
      }
      const settled = await pollUntil(
        async () => ({ serving: (await server.admin.getStatus({})).activeModelVersion.split(",")[0], active: await inSql() }),
        (v) => v.serving === v.active,
        1_000,
      );
      if (!settled.ok) mismatches.push(`round ${round}: serving ${settled.value.serving}, active in SQL ${settled.value.active}`);
    }
    reportFigures("concurrent ActivateModel", { failures, mismatches, wrongWinners });
  });

  it("both succeed: the later one wins, neither fails", () => {
    expect(failures).toEqual([]);
    expect(wrongWinners).toEqual([]);
  });

  it("leave this replica serving the version PostgreSQL holds active", () => {
    expect(mismatches).toEqual([]);
  });
});

describe("a second replica on the same database", () => {
  let replica: TestServer;
  beforeAll(async () => {
    replica = await startTestServer({ databaseUrl: server.databaseUrl, config: QUIET_MODELS });
  });
  afterAll(async () => {
    await replica?.stop();
  });

  it("serves the active versions from its start", async () => {
    const expected = (await server.admin.getStatus({})).activeModelVersion;
    expect((await replica.admin.getStatus({})).activeModelVersion).toBe(expected);
  });

  it("picks up a version activated through the first replica within 1 s", async () => {
    const delays: number[] = [];
    const late: string[] = [];
    for (const model of [v3.success, v1.success, v2.duration, v2.success, v3.duration]) {
      await server.admin.activateModel({ version: model.version });
      const seen = await pollUntil(
        async () =>
          (await replica.learning.predictOutcome({ taskType: "web_development", complexity: 2, agents: ["WEB", "APIDESIGNER"] }))
            .modelVersion,
        (version) => version.split(",").includes(model.version),
        1_000,
        10,
      );
      delays.push(Math.round(seen.ms));
      if (!seen.ok) late.push(`${model.version}: still ${seen.value} after ${Math.round(seen.ms)} ms`);
    }
    reportFigures("replica pick-up delays (ms)", { delays });
    expect(late).toEqual([]);
  });

  it("reports the same active versions as the first replica afterwards", async () => {
    const [a, b] = await Promise.all([server.admin.getStatus({}), replica.admin.getStatus({})]);
    expect(b.activeModelVersion).toBe(a.activeModelVersion);
    expect(b.activeModelVersion).toBe(named(v2.success, v3.duration));
  });
});
