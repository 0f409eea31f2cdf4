import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelVersion } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { EstimateSource } from "../../gen/agentlearning/v1/learning_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { createRng } from "../../src/sim/random.js";
import {
  activationHistory,
  activeVersionsInSql,
  byKind,
  metric,
  ModelStatus,
  QUIET_MODELS,
  rejectionOf,
  reportFigures,
} from "../support/model-fixtures.js";
import { mapConcurrently } from "../support/concurrently.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordInBulk, world, worldExecutions } from "../support/world-history.js";

// The quality gate against models that learned nothing: histories of the synthetic world whose
// outcomes (success and duration) were shuffled across executions, so features and labels are
// independent while the base rate and every marginal stay those of the world. A model that beats
// the base rate on later rows of such a history does so by chance, and must not serve.
//
// One shuffled history is one draw of that chance, so the gate is judged over TRIALS independent
// histories (fixed seeds, so a run replays exactly). A sound gate lets a noise model through
// rarely; the tests allow at most ONE acceptance in TRIALS: a gate accepting noise 5% of the time
// still passes with probability 0.91 (binomial, n = 10), one accepting it 30% of the time only
// with probability 0.15.

const TRIALS = 10;
const EXECUTIONS = 3_000;
const MAX_ACCEPTED = 1;

/** World executions with their outcomes (success, error, duration) shuffled across executions. */
function shuffledHistory(seed: number): Execution[] {
  const real = worldExecutions({ taskTypes: world.taskTypes, count: EXECUTIONS, seed, idPrefix: "shuffled" });
  const rng = createRng(seed * 7 + 1);
  const outcomes = real.map((e) => ({ success: e.success, errorMessage: e.errorMessage }));
  const durations = real.map((e) => e.durationSeconds);
  for (const list of [outcomes, durations] as unknown[][]) {
    for (let i = list.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [list[i], list[j]] = [list[j], list[i]];
    }
  }
  return real.map((e, i) => create(ExecutionSchema, { ...e, ...outcomes[i]!, durationSeconds: durations[i]! }));
}

/** What one trial saw. */
interface Trial {
  seed: number;
  success: ModelVersion;
  duration: ModelVersion;
  /** For a rejected success version: what the registry and ActivateModel said about it. */
  rejected?: {
    listedAsRejected: boolean;
    activeInSql: string[];
    activeModelVersion: string;
    activateCode: Code;
    activateReason: string | undefined;
    stillRejected: boolean;
    activationsOfIt: number;
    predictOutcomeSource: EstimateSource;
  };
}

const trials: Trial[] = [];

/** Histories trained at once: each has a server and a database of its own. */
const SIDE_BY_SIDE = 3;

/** One trial: a fresh server records the shuffled history of `seed`, retrains, and is asked about a rejected version. */
async function runTrial(seed: number): Promise<Trial> {
  const server = await startTestServer({ config: QUIET_MODELS });
  try {
    await recordInBulk(server.learning, shuffledHistory(seed));
    const { success, duration } = byKind((await server.admin.retrain({})).models);
    const trial: Trial = { seed, success, duration };
    if (success.status === ModelStatus.REJECTED) {
      const listed = await server.admin.listModels({ status: ModelStatus.REJECTED });
      const error = await rejectionOf(server.admin.activateModel({ version: success.version }));
      const after = await server.admin.listModels({});
      const outcome = await server.learning.predictOutcome({
        taskType: "web_development",
        complexity: 2,
        agents: ["WEB", "APIDESIGNER", "TESTBED"],
      });
      trial.rejected = {
        listedAsRejected: listed.models.some((m) => m.version === success.version),
        activeInSql: (await activeVersionsInSql(server)).map((a) => a.version),
        activeModelVersion: (await server.admin.getStatus({})).activeModelVersion,
        activateCode: error.code,
        activateReason: error.findDetails(ErrorInfoSchema)[0]?.reason,
        stillRejected: after.models.find((m) => m.version === success.version)?.status === ModelStatus.REJECTED,
        activationsOfIt: (await activationHistory(server)).filter((a) => a.version === success.version).length,
        predictOutcomeSource: outcome.source,
      };
    }
    return trial;
  } finally {
    await server.stop();
  }
}

beforeAll(async () => {
  // SIDE_BY_SIDE trials at a time, so one's training overlaps the others' recording.
  trials.push(...(await mapConcurrently(TRIALS, SIDE_BY_SIDE, (t) => runTrial(2_201 + t))));
  reportFigures("gate on shuffled labels", {
    trials: trials.map((t) => ({
      seed: t.seed,
      success: ModelStatus[t.success.status],
      auc: t.success.metrics.auc,
      logLossMinusBase: (t.success.metrics.log_loss ?? NaN) - (t.success.metrics.base_log_loss ?? NaN),
      trees: t.success.metrics.trees,
      duration: ModelStatus[t.duration.status],
      maeMinusBase: (t.duration.metrics.mae_log_duration ?? NaN) - (t.duration.metrics.base_mae_log_duration ?? NaN),
    })),
  });
}, 300_000);

describe(`Retrain on ${TRIALS} histories with shuffled outcomes`, () => {
  it("trains a success and a duration version on every history", () => {
    expect(trials).toHaveLength(TRIALS);
  });

  it(`rejects the success model on all but at most ${MAX_ACCEPTED} of them`, () => {
    const accepted = trials.filter((t) => t.success.status !== ModelStatus.REJECTED);
    const summary = accepted.map(
      (t) =>
        `seed ${t.seed}: auc ${metric(t.success, "auc").toFixed(4)}, log loss ${metric(t.success, "log_loss").toFixed(5)} vs base ${metric(t.success, "base_log_loss").toFixed(5)}`,
    );
    expect(accepted.length, `noise success models accepted:\n${summary.join("\n")}`).toBeLessThanOrEqual(MAX_ACCEPTED);
  });

  it(`rejects the duration model on all but at most ${MAX_ACCEPTED} of them`, () => {
    const accepted = trials.filter((t) => t.duration.status !== ModelStatus.REJECTED);
    const summary = accepted.map(
      (t) =>
        `seed ${t.seed}: MAE ${metric(t.duration, "mae_log_duration").toFixed(5)} vs base ${metric(t.duration, "base_mae_log_duration").toFixed(5)}`,
    );
    expect(accepted.length, `noise duration models accepted:\n${summary.join("\n")}`).toBeLessThanOrEqual(MAX_ACCEPTED);
  });

  it("gives every rejected version a rejection_reason and its figures", () => {
    const rejected = trials.flatMap((t) => [t.success, t.duration]).filter((m) => m.status === ModelStatus.REJECTED);
    expect(rejected.length).toBeGreaterThan(0);
    for (const m of rejected) {
      expect(m.rejectionReason, m.version).not.toBe("");
      expect(Object.keys(m.metrics).length, m.version).toBeGreaterThan(0);
    }
  });
});

describe("a rejected success version", () => {
  const rejectedTrials = () => {
    const found = trials.filter((t) => t.rejected !== undefined);
    // Without a rejected version every test below would pass on nothing.
    if (found.length === 0) throw new Error("no trial produced a rejected success version");
    return found.map((t) => ({ version: t.success.version, ...t.rejected! }));
  };

  it("is listed as REJECTED and is not active (ListModels, GetStatus, model_versions)", () => {
    for (const r of rejectedTrials()) {
      expect(r.listedAsRejected, r.version).toBe(true);
      expect(r.activeInSql, r.version).not.toContain(r.version);
      expect(r.activeModelVersion.split(","), r.version).not.toContain(r.version);
    }
  });

  it("does not answer predictions: PredictOutcome stays statistical", () => {
    for (const r of rejectedTrials()) expect(r.predictOutcomeSource, r.version).toBe(EstimateSource.STATISTICAL);
  });

  it("cannot be activated: ActivateModel answers FAILED_PRECONDITION (MODEL_REJECTED) and changes nothing", () => {
    for (const r of rejectedTrials()) {
      expect(r.activateCode, r.version).toBe(Code.FailedPrecondition);
      expect(r.activateReason, r.version).toBe("MODEL_REJECTED");
      expect(r.stillRejected, r.version).toBe(true);
      expect(r.activationsOfIt, r.version).toBe(0);
    }
  });
});

describe("ActivateModel on versions that do not exist", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: QUIET_MODELS });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers NOT_FOUND for an unknown version", async () => {
    const error = await rejectionOf(server.admin.activateModel({ version: "success-19700101T000000Z-000000" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("MODEL_NOT_FOUND");
  });

  it("answers INVALID_ARGUMENT naming the field for an empty version", async () => {
    const error = await rejectionOf(server.admin.activateModel({ version: "" }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field))).toContain("version");
  });

  it("records no activation for either", async () => {
    await rejectionOf(server.admin.activateModel({ version: "nope" }));
    expect(await activationHistory(server)).toHaveLength(0);
  });
});
