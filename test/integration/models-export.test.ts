import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  FeatureColumnKind,
  type GetModelResponse,
  ModelCardSchema,
  type ModelVersion,
} from "../../gen/agentlearning/v1/admin_service_pb.js";
import { EstimateSource } from "../../gen/agentlearning/v1/learning_pb.js";
import { ModelProtoSchema } from "../../gen/onnx/onnx_pb.js";
import { encodeRow, featureEncoder } from "../../src/ml/features.js";
import { FeatureMapSchema, TreeEnsembleSchema } from "../../src/ml/model-schemas.js";
import { predictValue } from "../../src/ml/tree-ensemble.js";
import { cardFileText } from "../../src/service/model-card.js";
import { createTestDatabase, dropTestDatabase } from "../support/database.js";
import { byKind, pollUntil, QUIET_MODELS, rejectionOf, reportFigures } from "../support/model-fixtures.js";
import { handBuiltRow, runOnnx } from "../support/onnx-rows.js";
import { requireCli, runCli } from "../support/run-cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world } from "../support/world-history.js";

// The compiled CLI, from the run's one build (a whole build may take minutes on a loaded machine).
beforeAll(requireCli, 300_000);

// Every version that has been active is written to the models directory as <version>.onnx and
// <version>.json (its card), the same bytes GetModel hands out; a replica rebuilds what is missing
// on start and on every activation; and a caller in another language can build an input row from
// the card alone and get what the service computes.

const TASK = "web_development";
const COMPLEXITY = 2;

let databaseUrl: string;
let server: TestServer;
let trained: { success: ModelVersion; duration: ModelVersion };

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  server = await startTestServer({ databaseUrl, config: QUIET_MODELS });
  await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: 3_000, seed: 8_101 });
  trained = byKind((await server.admin.retrain({})).models);
  for (const m of [trained.success, trained.duration]) expect(m.rejectionReason, m.version).toBe("");
});

afterAll(async () => {
  await server?.stop();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

/** Bytes as a plain Uint8Array, so a Buffer and an equal Uint8Array compare equal. */
const bytes = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();

const files = (dir: string, version: string) => ({ onnx: path.join(dir, `${version}.onnx`), card: path.join(dir, `${version}.json`) });

/** Whether both files of a version exist in a directory. */
async function bothExist(dir: string, version: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.includes(`${version}.onnx`) && names.includes(`${version}.json`);
}

describe("the models directory after Retrain", () => {
  it("holds <version>.onnx and <version>.json of both activated versions, byte for byte what GetModel answers", async () => {
    for (const m of [trained.success, trained.duration]) {
      const model = await server.admin.getModel({ version: m.version });
      const paths = files(server.modelsDir, m.version);
      expect(bytes(await readFile(paths.onnx))).toEqual(bytes(model.onnx));
      const text = await readFile(paths.card, "utf8");
      expect(text).toBe(cardFileText(model.card!));
      expect(fromJsonString(ModelCardSchema, text)).toEqual(model.card);
    }
  });

  it("leaves no temporary file behind", async () => {
    const names = (await readdir(server.modelsDir)).sort();
    expect(names).toEqual([trained.duration.version, trained.success.version].flatMap((v) => [`${v}.json`, `${v}.onnx`]).sort());
  });
});

describe("GetModel", () => {
  let success: GetModelResponse;
  beforeAll(async () => {
    success = await server.admin.getModel({ version: trained.success.version });
  });

  it("describes the version as ListModels does, with its card's training window and first activation", () => {
    const card = success.card!;
    expect(success.model?.version).toBe(trained.success.version);
    expect(success.model?.metrics).toEqual(trained.success.metrics);
    expect(card.version).toBe(trained.success.version);
    expect(card.metrics).toEqual(trained.success.metrics);
    expect(card.trainingRows).toBe(trained.success.trainingRows);
    expect(card.windowStart).toEqual(trained.success.windowStart);
    expect(card.windowEnd).toEqual(trained.success.windowEnd);
    expect(card.createdAt).toEqual(trained.success.createdAt);
    expect(card.activatedAt).toBeDefined();
    expect(card.outputMeaning).toMatch(/probability of success/);
  });

  it("names the columns as the ONNX metadata does, in order, with the file's input and output names", () => {
    const card = success.card!;
    const graph = fromBinary(ModelProtoSchema, success.onnx).graph;
    expect(card.inputName).toBe(graph?.input[0]?.name);
    expect(card.outputName).toBe(graph?.output[0]?.name);
    const metadata = Object.fromEntries(fromBinary(ModelProtoSchema, success.onnx).metadataProps.map((p) => [p.key, p.value]));
    const map = FeatureMapSchema.parse(JSON.parse(metadata.feature_map ?? "null"));
    expect(card.columns.map((c) => c.index)).toEqual(card.columns.map((_, i) => i));
    expect(card.columns.slice(0, 2).map((c) => c.kind)).toEqual([FeatureColumnKind.COMPLEXITY, FeatureColumnKind.TEAM_SIZE]);
    expect(card.columns.filter((c) => c.kind === FeatureColumnKind.TASK_TYPE).map((c) => c.value)).toEqual(map.taskTypes);
    expect(card.columns.filter((c) => c.kind === FeatureColumnKind.AGENT).map((c) => c.value)).toEqual(map.agents);
    expect(Object.fromEntries(Object.entries(card.taskTypeRows).map(([t, n]) => [t, Number(n)]))).toEqual(map.taskTypeRows);
  });

  it("answers NOT_FOUND for an unknown version and INVALID_ARGUMENT naming version for an empty one", async () => {
    expect((await rejectionOf(server.admin.getModel({ version: "no-such-version" }))).code).toBe(Code.NotFound);
    expect((await rejectionOf(server.admin.getModel({ version: "" }))).code).toBe(Code.InvalidArgument);
  });
});

describe("the exported ONNX file, run by hand from its card", () => {
  const teams = world.candidateTeams(TASK);

  it("scores a success row built from the card alone as the stored trees do", async () => {
    const { card, onnx } = await server.admin.getModel({ version: trained.success.version });
    const rows = new Float32Array(teams.length * card!.columns.length);
    teams.forEach((team, i) => {
      rows.set(handBuiltRow(card!, TASK, team, COMPLEXITY), i * card!.columns.length);
    });
    const scores = await runOnnx(onnx, card!, rows, teams.length);

    // The service's own encoding and trees, read from PostgreSQL.
    const stored = await server.db.one(sql.type(z.object({ ensemble: z.unknown(), feature_map: z.unknown() }))`
      SELECT ensemble, feature_map FROM model_versions WHERE version = ${trained.success.version}`);
    const encoder = featureEncoder(FeatureMapSchema.parse(stored.feature_map));
    const ensemble = TreeEnsembleSchema.parse(stored.ensemble);
    const encoded = new Float32Array(teams.length * encoder.width);
    teams.forEach((team, i) => {
      encodeRow(encoder, encoded, i, TASK, team, COMPLEXITY);
    });
    expect(encoded).toEqual(rows);
    teams.forEach((_, i) => {
      expect(Math.abs(scores[i]! - predictValue(ensemble, encoded, i * encoder.width))).toBeLessThanOrEqual(1e-5);
    });
  });

  it("predicts from a duration row built from the card the duration PredictOutcome reports: exp(output) − 1", async () => {
    const { card, onnx } = await server.admin.getModel({ version: trained.duration.version });
    const rows = new Float32Array(teams.length * card!.columns.length);
    teams.forEach((team, i) => {
      rows.set(handBuiltRow(card!, TASK, team, COMPLEXITY), i * card!.columns.length);
    });
    const outputs = await runOnnx(onnx, card!, rows, teams.length);
    const figures: { team: string; file: number; service: number }[] = [];
    for (const [i, team] of teams.entries()) {
      const outcome = await server.learning.predictOutcome({ taskType: TASK, complexity: COMPLEXITY, agents: [...team] });
      expect(outcome.source).toBe(EstimateSource.MODEL);
      expect(outcome.modelVersion.split(",")).toContain(trained.duration.version);
      const fromFile = Math.expm1(outputs[i]!);
      figures.push({ team: team.join("+"), file: fromFile, service: outcome.expectedDurationSeconds });
      expect(Math.abs(fromFile - outcome.expectedDurationSeconds) / outcome.expectedDurationSeconds, team.join("+")).toBeLessThanOrEqual(
        1e-5,
      );
    }
    reportFigures("duration by hand vs PredictOutcome", { figures });
  });
});

describe("rebuilding the models directory", () => {
  it("writes an activated version's files again when ActivateModel re-announces it", async () => {
    const paths = files(server.modelsDir, trained.success.version);
    await rm(paths.onnx);
    await rm(paths.card);
    await server.admin.activateModel({ version: trained.success.version });
    expect(await bothExist(server.modelsDir, trained.success.version)).toBe(true);
  });

  it("gives another replica the files through the activation NOTIFY, and rebuilds missing ones when it starts", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "agent-learning-replica-models-"));
    try {
      let replica = await startTestServer({ databaseUrl, config: { ...QUIET_MODELS, modelsDir: dir } });
      try {
        // On start: every version active so far.
        for (const version of [trained.success.version, trained.duration.version])
          expect(await bothExist(dir, version), version).toBe(true);
        // An activation announced by the first server (NOTIFY) makes this one write the version.
        await rm(files(dir, trained.success.version).onnx);
        await rm(files(dir, trained.success.version).card);
        await server.admin.activateModel({ version: trained.success.version });
        const arrived = await pollUntil(() => bothExist(dir, trained.success.version), Boolean, 10_000);
        expect(arrived.ok).toBe(true);
        const model = await server.admin.getModel({ version: trained.success.version });
        expect(bytes(await readFile(files(dir, trained.success.version).onnx))).toEqual(bytes(model.onnx));
      } finally {
        await replica.stop();
      }
      // Deleted while the replica was down: back once it starts again.
      await rm(files(dir, trained.duration.version).onnx);
      await rm(files(dir, trained.success.version).card);
      replica = await startTestServer({ databaseUrl, config: { ...QUIET_MODELS, modelsDir: dir } });
      try {
        for (const version of [trained.success.version, trained.duration.version]) {
          expect(await bothExist(dir, version), version).toBe(true);
          const model = await replica.admin.getModel({ version });
          expect(bytes(await readFile(files(dir, version).onnx))).toEqual(bytes(model.onnx));
          expect(await readFile(files(dir, version).card, "utf8")).toBe(cardFileText(model.card!));
        }
      } finally {
        await replica.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("agent-learning models export", () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), "agent-learning-export-"));
  });
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it("writes the ONNX file to --out and the card beside it, as GetModel answers them", async () => {
    const out = path.join(outDir, "success.onnx");
    const run = await runCli(["models", "export", trained.success.version, "--out", out, "--address", server.url]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(out);
    const model = await server.admin.getModel({ version: trained.success.version });
    expect(bytes(await readFile(out))).toEqual(bytes(model.onnx));
    expect(await readFile(path.join(outDir, "success.json"), "utf8")).toBe(cardFileText(model.card!));
  });

  it("says the version is unknown and exits non-zero, writing nothing", async () => {
    const out = path.join(outDir, "missing.onnx");
    const run = await runCli(["models", "export", "no-such-version", "--out", out, "--address", server.url]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/no model version no-such-version/);
    expect(await readdir(outDir)).not.toContain("missing.onnx");
  });
});
