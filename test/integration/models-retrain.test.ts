import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import * as ort from "onnxruntime-node";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ModelVersion } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { ModelProtoSchema } from "../../gen/onnx/onnx_pb.js";
import { encodeRow, featureEncoder } from "../../src/ml/features.js";
import { FeatureMapSchema, TreeEnsembleSchema } from "../../src/ml/model-schemas.js";
import { predictValue } from "../../src/ml/tree-ensemble.js";
import {
  activeVersionsInSql,
  byKind,
  metric,
  ModelKind,
  ModelStatus,
  QUIET_MODELS,
  rejectionOf,
  reportFigures,
} from "../support/model-fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world, worldExecutions } from "../support/world-history.js";

// Retrain on 3,000 executions of the synthetic world: what it trains, the figures it reports,
// how the registry lists the versions, and the ONNX file it stores, checked by a runtime session
// of our own rather than the server's word.

const EXECUTIONS = 3_000;
/** The ONNX file must score like the trees to float32 rounding (the server's own gate, 1e-5). */
const PARITY_TOLERANCE = 1e-5;

let server: TestServer;
let first: { success: ModelVersion; duration: ModelVersion };

beforeAll(async () => {
  server = await startTestServer({ config: QUIET_MODELS });
  await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: EXECUTIONS, seed: 1_101 });
  first = byKind((await server.admin.retrain({})).models);
  reportFigures("retrain #1", { success: first.success.metrics, duration: first.duration.metrics });
});

afterAll(async () => {
  await server?.stop();
});

describe("Retrain after 3,000 executions", () => {
  it("returns one success and one duration version, both active", () => {
    expect(first.success.status).toBe(ModelStatus.ACTIVE);
    expect(first.duration.status).toBe(ModelStatus.ACTIVE);
    expect(first.success.rejectionReason).toBe("");
    expect(first.duration.rejectionReason).toBe("");
    expect(first.success.version).not.toBe(first.duration.version);
  });

  it("reports a success model that ranks outcomes better than chance and beats the base rate's log loss", () => {
    expect(metric(first.success, "auc")).toBeGreaterThan(0.6);
    expect(metric(first.success, "auc")).toBeLessThanOrEqual(1);
    expect(metric(first.success, "log_loss")).toBeLessThan(metric(first.success, "base_log_loss"));
  });

  it("reports a duration model whose error on ln(1 + seconds) is below predicting the mean", () => {
    expect(metric(first.duration, "mae_log_duration")).toBeLessThan(metric(first.duration, "base_mae_log_duration"));
  });

  it("reports for both versions that the ONNX file scores like the trees within 1e-5", () => {
    for (const model of [first.success, first.duration]) {
      const diff = metric(model, "onnx_parity_max_abs_diff");
      expect(diff, model.version).toBeGreaterThanOrEqual(0);
      expect(diff, model.version).toBeLessThanOrEqual(PARITY_TOLERANCE);
    }
  });

  it("judges a fit of the oldest 70% (15% choose its trees) on the newest 15%, serves a refit on the whole history, and states its window", () => {
    for (const model of [first.success, first.duration]) {
      expect(model.trainingRows).toBe(BigInt(EXECUTIONS));
      expect(metric(model, "validation_rows"), model.version).toBe(Math.floor(EXECUTIONS * 0.85) - Math.floor(EXECUTIONS * 0.7));
      expect(metric(model, "holdout_rows"), model.version).toBe(EXECUTIONS - Math.floor(EXECUTIONS * 0.85));
      // The refit grows the judged fit's tree count in proportion to its rows (1 / 0.7).
      expect(metric(model, "trees"), model.version).toBe(
        Math.min(1000, Math.max(1, Math.round((metric(model, "judged_trees") * EXECUTIONS) / Math.floor(EXECUTIONS * 0.7)))),
      );
      const start = model.windowStart;
      const end = model.windowEnd;
      expect(start && end, model.version).toBeTruthy();
      expect(Number(start?.seconds)).toBeLessThanOrEqual(Number(end?.seconds));
      expect(model.createdAt).toBeDefined();
    }
  });
});

describe("GetStatus after a retrain", () => {
  it("names both active versions in active_model_version", async () => {
    const status = await server.admin.getStatus({});
    expect(status.activeModelVersion.split(",").sort()).toEqual([first.duration.version, first.success.version].sort());
  });

  it("lists both active versions with their metrics in active_models", async () => {
    const status = await server.admin.getStatus({});
    const active = byKind(status.activeModels);
    expect(active.success.version).toBe(first.success.version);
    expect(active.duration.version).toBe(first.duration.version);
    expect(active.success.status).toBe(ModelStatus.ACTIVE);
    expect(metric(active.success, "auc")).toBe(metric(first.success, "auc"));
    expect(metric(active.duration, "mae_log_duration")).toBe(metric(first.duration, "mae_log_duration"));
  });
});

describe("the ONNX bytes stored in model_versions", () => {
  const StoredModel = z.object({ version: z.string(), onnx: z.instanceof(Buffer), ensemble: z.unknown(), feature_map: z.unknown() });

  async function stored(version: string) {
    const row = await server.db.one(
      sql.type(StoredModel)`SELECT version, onnx, ensemble, feature_map FROM model_versions WHERE version = ${version}`,
    );
    return {
      bytes: new Uint8Array(row.onnx),
      ensemble: TreeEnsembleSchema.parse(row.ensemble),
      featureMap: FeatureMapSchema.parse(row.feature_map),
    };
  }

  // Rows the model has never seen, plus the edges of the feature space: complexity 0 and 10, an
  // unknown task type and unknown agents (encoded without their columns), a team of one.
  const probeRows = [
    ...worldExecutions({ taskTypes: world.taskTypes, count: 300, seed: 9_901, idPrefix: "probe" }).map((e) => ({
      taskType: e.taskType,
      agents: e.agents,
      complexity: e.complexity,
    })),
    { taskType: "web_development", agents: ["WEB"], complexity: 0 },
    { taskType: "web_development", agents: ["WEB", "APIDESIGNER", "TESTBED"], complexity: 10 },
    { taskType: "quantum_gardening", agents: ["NOBODY_KNOWS_ME", "WEB"], complexity: 2 },
    { taskType: "bug_fix", agents: ["NOBODY_KNOWS_ME"], complexity: 2.5 },
  ];

  for (const kind of ["success", "duration"] as const) {
    it(`load in a fresh onnxruntime session and score like the stored ${kind} trees within 1e-5`, async () => {
      const model = await stored(first[kind].version);
      const encoder = featureEncoder(model.featureMap);
      expect(model.ensemble.featureCount).toBe(encoder.width);
      const features = new Float32Array(probeRows.length * encoder.width);
      probeRows.forEach((r, row) => {
        encodeRow(encoder, features, row, r.taskType, r.agents, r.complexity);
      });

      const session = await ort.InferenceSession.create(model.bytes);
      let scores: Float32Array;
      try {
        const input = session.inputNames[0];
        const output = session.outputNames[0];
        if (input === undefined || output === undefined) throw new Error("the model has no input or no output");
        const result = await session.run({ [input]: new ort.Tensor("float32", features, [probeRows.length, encoder.width]) });
        const data = result[output]?.data;
        if (!(data instanceof Float32Array)) throw new Error(`output ${output} is not a float tensor`);
        scores = data;
      } finally {
        await session.release();
      }

      expect(scores).toHaveLength(probeRows.length);
      let maxAbsDiff = 0;
      for (let row = 0; row < probeRows.length; row++) {
        const expected = predictValue(model.ensemble, features, row * encoder.width);
        const diff = Math.abs(scores[row]! - expected);
        maxAbsDiff = Number.isNaN(diff) ? Infinity : Math.max(maxAbsDiff, diff);
      }
      reportFigures(`parity (fresh session, ${kind})`, { rows: probeRows.length, maxAbsDiff });
      expect(maxAbsDiff).toBeLessThanOrEqual(PARITY_TOLERANCE);
      if (kind === "success") for (const p of scores) expect(p >= 0 && p <= 1, String(p)).toBe(true);
    });
  }

  it("carry their own version and feature map in the file's metadata", async () => {
    for (const model of [first.success, first.duration]) {
      const { bytes, featureMap } = await stored(model.version);
      const metadata = Object.fromEntries(fromBinary(ModelProtoSchema, bytes).metadataProps.map((p) => [p.key, p.value]));
      expect(metadata.version).toBe(model.version);
      expect(FeatureMapSchema.parse(JSON.parse(metadata.feature_map ?? "null"))).toEqual(featureMap);
    }
  });
});

/** The second Retrain, with no new data (ListModels below lists its versions too). */
let again: { success: ModelVersion; duration: ModelVersion };

describe("a second Retrain with no new executions", () => {
  beforeAll(async () => {
    // One replica, no scheduled retraining, learning enabled and 3,000 executions: nothing may
    // refuse this call, so an error fails the suite here.
    again = byKind((await server.admin.retrain({})).models);
    reportFigures("retrain #2 (no new data)", {
      models: [again.success, again.duration].map((m) => ({
        version: m.version,
        status: ModelStatus[m.status],
        reason: m.rejectionReason,
      })),
    });
  });

  it("trains new versions on the same window, scoring exactly as the first (same rows, same seed)", () => {
    for (const kind of ["success", "duration"] as const) {
      expect(again[kind].version).not.toBe(first[kind].version);
      expect(again[kind].trainingRows).toBe(first[kind].trainingRows);
      expect(again[kind].windowStart).toEqual(first[kind].windowStart);
      expect(again[kind].windowEnd).toEqual(first[kind].windowEnd);
      expect(again[kind].metrics).toEqual(first[kind].metrics);
    }
  });

  it("activates them: a model scoring like the active one is within the gate's tolerance", () => {
    expect(again.success.status).toBe(ModelStatus.ACTIVE);
    expect(again.duration.status).toBe(ModelStatus.ACTIVE);
    expect(again.success.rejectionReason).toBe("");
    expect(again.duration.rejectionReason).toBe("");
  });

  it("leaves exactly the new versions active, one per kind (model_versions in SQL)", async () => {
    expect(await activeVersionsInSql(server)).toEqual([
      { kind: "duration", version: again.duration.version },
      { kind: "success", version: again.success.version },
    ]);
  });
});

describe("ListModels", () => {
  it("lists every version, newest first", async () => {
    const { models } = await server.admin.listModels({});
    const trainedSecond = [again.success.version, again.duration.version];
    expect(models.map((m) => m.version).sort()).toEqual([first.success.version, first.duration.version, ...trainedSecond].sort());
    const created = models.map((m) => Number(m.createdAt?.seconds ?? 0n) * 1e9 + (m.createdAt?.nanos ?? 0));
    for (let i = 1; i < created.length; i++) expect(created[i], models[i]?.version).toBeLessThanOrEqual(created[i - 1]!);
    // Versions of the second run are newer than those of the first.
    const firstRun = new Set([first.success.version, first.duration.version]);
    const positions = models.map((m) => firstRun.has(m.version));
    expect(positions.slice(trainedSecond.length).every(Boolean)).toBe(true);
  });

  it("filters by kind", async () => {
    const success = await server.admin.listModels({ kind: ModelKind.SUCCESS });
    const duration = await server.admin.listModels({ kind: ModelKind.DURATION });
    const all = await server.admin.listModels({});
    expect(success.models.length).toBeGreaterThan(0);
    expect(duration.models.length).toBeGreaterThan(0);
    expect(success.models.every((m) => m.kind === ModelKind.SUCCESS)).toBe(true);
    expect(duration.models.every((m) => m.kind === ModelKind.DURATION)).toBe(true);
    expect(success.models.length + duration.models.length).toBe(all.models.length);
    expect(success.models.map((m) => m.version)).toContain(first.success.version);
  });

  it("filters by status: exactly one active version of each kind", async () => {
    const { models } = await server.admin.listModels({ status: ModelStatus.ACTIVE });
    expect(models.map((m) => m.kind).sort()).toEqual([ModelKind.SUCCESS, ModelKind.DURATION]);
    expect(models.every((m) => m.status === ModelStatus.ACTIVE)).toBe(true);
    const inSql = await activeVersionsInSql(server);
    expect(models.map((m) => m.version).sort()).toEqual(inSql.map((a) => a.version).sort());
  });

  it("filters by status and kind together", async () => {
    const { models } = await server.admin.listModels({ kind: ModelKind.SUCCESS, status: ModelStatus.ACTIVE });
    expect(models).toHaveLength(1);
    expect(models[0]?.kind).toBe(ModelKind.SUCCESS);
    expect(models[0]?.status).toBe(ModelStatus.ACTIVE);
  });

  it("splits every version into exactly one of the ACTIVE, INACTIVE and REJECTED listings", async () => {
    const all = (await server.admin.listModels({})).models.map((m) => m.version).sort();
    const byStatus = await Promise.all(
      [ModelStatus.ACTIVE, ModelStatus.INACTIVE, ModelStatus.REJECTED].map(async (status) => {
        const { models } = await server.admin.listModels({ status });
        for (const m of models) expect(m.status, m.version).toBe(status);
        return models.map((m) => m.version);
      }),
    );
    expect(byStatus.flat().sort()).toEqual(all);
  });
});

describe("Retrain with too little history", () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ config: QUIET_MODELS });
    await recordWorldHistory(small.learning, { taskTypes: ["web_development", "bug_fix"], count: 199, seed: 1_102 });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it("answers FAILED_PRECONDITION with 199 executions and stores nothing", async () => {
    const error = await rejectionOf(small.admin.retrain({}));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect((await small.admin.listModels({})).models).toHaveLength(0);
    expect((await small.admin.getStatus({})).activeModelVersion).toBe("");
  });

  it("trains (a version of each kind, judged by the gate) once the history reaches 200", async () => {
    await recordWorldHistory(small.learning, { taskTypes: ["web_development"], count: 1, seed: 1_103 });
    const { models } = await small.admin.retrain({});
    const { success, duration } = byKind(models);
    for (const m of [success, duration]) {
      expect(m.trainingRows, m.version).toBe(200n);
      if (m.status === ModelStatus.REJECTED) expect(m.rejectionReason).not.toBe("");
      else expect(m.status).toBe(ModelStatus.ACTIVE);
    }
  });
});
