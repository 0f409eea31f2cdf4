import { create, fromBinary, isFieldSet, toBinary } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { AttributeProto_AttributeType, AttributeProtoSchema, ModelProtoSchema } from "../../../gen/onnx/onnx_pb.js";
import { exportOnnx } from "../../../src/ml/onnx-export.js";
import { loadSession, type OnnxModel } from "../../../src/ml/onnx-session.js";
import { checkParity } from "../../../src/ml/parity.js";
import { type Objective, predictValue, type SplitNode, type Tree, type TreeEnsemble } from "../../../src/ml/tree-ensemble.js";

// These tests run the real onnxruntime: the exported file is only right if the runtime that
// serves it agrees with our own evaluation of the trees, row by row.

const f = Math.fround;
const TOLERANCE = 1e-5;
const OBJECTIVES: Objective[] = ["squared", "logistic"];

/** mulberry32: a small seeded PRNG, so every random ensemble and row set is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stump(objective: Objective, baseScore = f(0.1)): TreeEnsemble {
  return {
    objective,
    featureCount: 3,
    baseScore,
    trees: [
      {
        nodes: [
          { kind: "split", feature: 1, threshold: f(0.3), left: 1, right: 2 },
          { kind: "leaf", value: f(-0.7) },
          { kind: "leaf", value: f(1.2) },
        ],
      },
    ],
  };
}

/** A full depth-3 tree over 4 features, written out by hand; node order is not parent-first. */
function depth3(objective: Objective): TreeEnsemble {
  const split = (feature: number, threshold: number, left: number, right: number): SplitNode => ({
    kind: "split",
    feature,
    threshold: f(threshold),
    left,
    right,
  });
  const leaf = (value: number) => ({ kind: "leaf" as const, value: f(value) });
  return {
    objective,
    featureCount: 4,
    baseScore: f(-0.25),
    trees: [
      {
        nodes: [
          split(0, 0.5, 2, 1), // 0: root; children listed out of order on purpose
          split(2, -1.25, 5, 6), // 1
          split(1, 2, 3, 4), // 2
          split(3, 0, 7, 8), // 3: a threshold of exactly 0
          split(0, -3.3, 9, 10), // 4
          split(3, 7.1, 11, 12), // 5
          split(1, -0.1, 13, 14), // 6
          leaf(0.11),
          leaf(-0.42),
          leaf(0.93),
          leaf(-1.7),
          leaf(0.05),
          leaf(2.2),
          leaf(-0.66),
          leaf(1.01),
        ],
      },
    ],
  };
}

/** A random tree of at most `depth` levels; leaves may come early. Values are float32. */
function randomTree(next: () => number, depth: number, featureCount: number): Tree {
  const nodes: Tree["nodes"] = [];
  const grow = (level: number): number => {
    const index = nodes.length;
    if (level === depth || (level > 0 && next() < 0.15)) {
      nodes.push({ kind: "leaf", value: f((next() - 0.5) * 0.6) });
      return index;
    }
    const node: SplitNode = { kind: "split", feature: Math.floor(next() * featureCount), threshold: f(next() * 6 - 3), left: 0, right: 0 };
    nodes.push(node);
    node.left = grow(level + 1);
    node.right = grow(level + 1);
    return index;
  };
  grow(0);
  return { nodes };
}

function randomEnsemble(seed: number, objective: Objective, trees: number, depth: number, featureCount: number): TreeEnsemble {
  const next = prng(seed);
  return {
    objective,
    featureCount,
    baseScore: f(next() - 0.5),
    trees: Array.from({ length: trees }, () => randomTree(next, depth, featureCount)),
  };
}

/** The thresholds each feature is split at, to aim rows exactly at them. */
function thresholdsByFeature(ensemble: TreeEnsemble): number[][] {
  const byFeature: number[][] = Array.from({ length: ensemble.featureCount }, () => []);
  for (const tree of ensemble.trees)
    for (const node of tree.nodes) if (node.kind === "split") byFeature[node.feature]!.push(node.threshold);
  return byFeature;
}

/** Rows mixing uniform values in [-4, 4] with exact thresholds (BRANCH_LEQ ties) and 0. */
function randomRows(seed: number, ensemble: TreeEnsemble, rows: number): Float32Array {
  const next = prng(seed);
  const thresholds = thresholdsByFeature(ensemble);
  const out = new Float32Array(rows * ensemble.featureCount);
  for (let i = 0; i < out.length; i++) {
    const own = thresholds[i % ensemble.featureCount]!;
    const pick = next();
    if (pick < 0.3 && own.length > 0) out[i] = own[Math.floor(next() * own.length)]!;
    else if (pick < 0.35) out[i] = 0;
    else out[i] = next() * 8 - 4;
  }
  return out;
}

function expected(ensemble: TreeEnsemble, features: Float32Array, rows: number): number[] {
  return Array.from({ length: rows }, (_, row) => predictValue(ensemble, features, row * ensemble.featureCount));
}

function maxAbsDiff(actual: Float32Array, wanted: number[]): number {
  expect(actual.length).toBe(wanted.length);
  return Math.max(0, ...wanted.map((w, i) => Math.abs(actual[i]! - w)));
}

function exportPlain(ensemble: TreeEnsemble): Uint8Array {
  return exportOnnx(ensemble, { metadata: {}, modelVersion: 1 });
}

// Sessions opened by a test are released after it, pass or fail.
const open: OnnxModel[] = [];
async function load(bytes: Uint8Array): Promise<OnnxModel> {
  const session = await loadSession(bytes);
  open.push(session);
  return session;
}
afterEach(async () => {
  for (const session of open.splice(0)) await session.release();
});

describe.each(OBJECTIVES)("exported %s ensembles score like predictValue", (objective) => {
  it("a stump scores one row on each side of its threshold", async () => {
    const ensemble = stump(objective);
    const session = await load(exportPlain(ensemble));
    for (const x of [-5, 0.29, 0.31, 9]) {
      const row = new Float32Array([7, x, -7]);
      expect(maxAbsDiff(await session.run(row, 1), expected(ensemble, row, 1))).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it("a depth-3 tree sends a value equal to a threshold left, and values just either side apart", async () => {
    const ensemble = depth3(objective);
    const session = await load(exportPlain(ensemble));
    const cases: number[][] = [];
    for (const node of ensemble.trees[0]!.nodes) {
      if (node.kind !== "split") continue;
      const t = node.threshold;
      const below = t - Math.max(Math.abs(t), 1) * 2 ** -23;
      const above = t + Math.max(Math.abs(t), 1) * 2 ** -23;
      for (const x of [t, f(below), f(above)]) {
        for (const fill of [-10, 10]) {
          const row = [fill, fill, fill, fill];
          row[node.feature] = x;
          cases.push(row);
        }
      }
    }
    const features = Float32Array.from(cases.flat());
    const wanted = expected(ensemble, features, cases.length);
    // Every leaf is reached, so the ties really decided something.
    expect(new Set(wanted.map((v) => v.toFixed(6))).size).toBeGreaterThanOrEqual(6);
    expect(maxAbsDiff(await session.run(features, cases.length), wanted)).toBeLessThanOrEqual(TOLERANCE);
  });

  it("50 random trees over 12 features score one row", async () => {
    const ensemble = randomEnsemble(50, objective, 50, 5, 12);
    const features = randomRows(1, ensemble, 1);
    const session = await load(exportPlain(ensemble));
    expect(maxAbsDiff(await session.run(features, 1), expected(ensemble, features, 1))).toBeLessThanOrEqual(TOLERANCE);
  });

  it("50 random trees over 12 features score 1,000 rows with ties, zeros and negatives in one run", async () => {
    const ensemble = randomEnsemble(51, objective, 50, 5, 12);
    const features = randomRows(2, ensemble, 1000);
    const thresholds = new Set(thresholdsByFeature(ensemble).flat());
    expect(features.filter((x) => thresholds.has(x)).length).toBeGreaterThan(2000);
    expect(features.filter((x) => x < 0).length).toBeGreaterThan(2000);
    const session = await load(exportPlain(ensemble));
    expect(maxAbsDiff(await session.run(features, 1000), expected(ensemble, features, 1000))).toBeLessThanOrEqual(TOLERANCE);
  });

  it("a missing value (NaN) goes right, as in predictValue", async () => {
    const ensemble = stump(objective);
    const row = new Float32Array([0, Number.NaN, 0]);
    const session = await load(exportPlain(ensemble));
    const wanted = expected(ensemble, row, 1);
    expect(wanted[0]).toBeCloseTo(objective === "logistic" ? 1 / (1 + Math.exp(-f(1.3))) : f(0.1) + f(1.2), 6);
    expect(maxAbsDiff(await session.run(row, 1), wanted)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe("the ONNX file", () => {
  it("carries its metadata, version, producer and opsets", async () => {
    const metadata = { kind: "success", feature_map: JSON.stringify({ agents: ["A", "B"] }), empty: "" };
    const bytes = exportOnnx(stump("logistic"), { metadata, modelVersion: 1_732_000_000_123, docString: "a stump" });
    const session = await load(bytes);
    expect(session.metadata()).toEqual(metadata);

    const model = fromBinary(ModelProtoSchema, bytes);
    expect(model.producerName).toBe("agent-learning");
    expect(model.modelVersion).toBe(1_732_000_000_123n);
    expect(model.docString).toBe("a stump");
    expect(model.irVersion).toBe(8n);
    expect(model.opsetImport.map((o) => [o.domain, o.version])).toEqual([
      ["", 17n],
      ["ai.onnx.ml", 3n],
    ]);
  });

  it("names its input and output as asked", async () => {
    const ensemble = stump("squared");
    const bytes = exportOnnx(ensemble, { metadata: {}, modelVersion: 2n, inputName: "x", outputName: "y" });
    const graph = fromBinary(ModelProtoSchema, bytes).graph!;
    const session = await load(bytes);
    expect([graph.input[0]!.name, graph.output[0]!.name]).toEqual(["x", "y"]);
    const row = new Float32Array([0, 0, 0]);
    expect(maxAbsDiff(await session.run(row, 1), expected(ensemble, row, 1))).toBeLessThanOrEqual(TOLERANCE);
  });

  it("keeps a zero base value, a zero threshold, a zero leaf and model version 0", async () => {
    const ensemble: TreeEnsemble = {
      objective: "squared",
      featureCount: 1,
      baseScore: 0,
      trees: [
        {
          nodes: [
            { kind: "split", feature: 0, threshold: 0, left: 1, right: 2 },
            { kind: "leaf", value: 0 },
            { kind: "leaf", value: 1 },
          ],
        },
      ],
    };
    const bytes = exportOnnx(ensemble, { metadata: {}, modelVersion: 0 });
    const model = fromBinary(ModelProtoSchema, bytes);
    expect(isFieldSet(model, ModelProtoSchema.field.modelVersion)).toBe(true);
    const attribute = (name: string) => model.graph!.node[0]!.attribute.find((a) => a.name === name)!;
    expect(attribute("base_values").floats).toEqual([0]);
    expect(attribute("nodes_values").floats).toEqual([0, 0, 0]);
    expect(attribute("target_weights").floats).toEqual([0, 1]);

    const session = await load(bytes);
    const rows = new Float32Array([0, -0, -1e-30, 1e-30]);
    expect(Array.from(await session.run(rows, 4))).toEqual([0, 0, 0, 1]);
  });

  it("writes a singular attribute set to zero (proto2 presence)", () => {
    const attribute = create(AttributeProtoSchema, { name: "n", type: AttributeProto_AttributeType.INT, i: 0n });
    const decoded = fromBinary(AttributeProtoSchema, toBinary(AttributeProtoSchema, attribute));
    expect(isFieldSet(decoded, AttributeProtoSchema.field.i)).toBe(true);
    expect(decoded.i).toBe(0n);
  });

  it("gives probabilities, not log-odds, for a logistic ensemble even at extreme scores", async () => {
    // onnxruntime ignores the regressor's own LOGISTIC post_transform (microsoft/onnxruntime#26596);
    // this is the test that would catch a file relying on it.
    for (const baseScore of [-30, -8, 0, 8, 30]) {
      const ensemble = stump("logistic", f(baseScore));
      const session = await load(exportPlain(ensemble));
      const rows = new Float32Array([0, 0, 0, 0, 1, 0]);
      const out = await session.run(rows, 2);
      for (const p of out) expect(p >= 0 && p <= 1).toBe(true);
      expect(maxAbsDiff(out, expected(ensemble, rows, 2))).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it("exports an ensemble with no trees as its base score", async () => {
    const ensemble: TreeEnsemble = { objective: "logistic", featureCount: 2, baseScore: f(0.4), trees: [] };
    const session = await load(exportPlain(ensemble));
    const rows = new Float32Array([1, 2, -3, 4]);
    expect(maxAbsDiff(await session.run(rows, 2), expected(ensemble, rows, 2))).toBeLessThanOrEqual(TOLERANCE);
  });

  it("refuses a tree with a node its root cannot reach", () => {
    const ensemble = stump("squared");
    ensemble.trees[0]!.nodes.push({ kind: "leaf", value: 5 });
    expect(() => exportPlain(ensemble)).toThrow(/tree 0 has 1 node\(s\) unreachable/);
  });

  it("refuses a tree whose split points back at an ancestor", () => {
    const ensemble = stump("squared");
    ensemble.trees[0]!.nodes[2] = { kind: "split", feature: 0, threshold: 0, left: 0, right: 1 };
    expect(() => exportPlain(ensemble)).toThrow(/reaches node \d twice/);
  });

  it("refuses a split on a feature the ensemble does not have", () => {
    const ensemble = stump("squared");
    ensemble.trees[0]!.nodes[0] = { kind: "split", feature: 3, threshold: 0, left: 1, right: 2 };
    expect(() => exportPlain(ensemble)).toThrow(/feature 3, outside 0..2/);
  });
});

describe("sessions", () => {
  it("load the exported bytes afresh and score the same as an earlier session", async () => {
    const ensemble = randomEnsemble(7, "logistic", 20, 4, 6);
    const bytes = exportPlain(ensemble);
    const features = randomRows(3, ensemble, 64);
    const first = await loadSession(bytes);
    const before = await first.run(features, 64);
    await first.release();
    const second = await load(bytes.slice());
    expect(Array.from(await second.run(features, 64))).toEqual(Array.from(before));
  });

  it("load bytes that are a view into a larger buffer (as database drivers hand them out)", async () => {
    const ensemble = stump("squared");
    const bytes = exportPlain(ensemble);
    const pool = new Uint8Array(bytes.length + 100).fill(0xee);
    pool.set(bytes, 37);
    const session = await load(pool.subarray(37, 37 + bytes.length));
    const row = new Float32Array([0, 1, 0]);
    expect(maxAbsDiff(await session.run(row, 1), expected(ensemble, row, 1))).toBeLessThanOrEqual(TOLERANCE);
  });

  it("fail to load random bytes with a clear error", async () => {
    const next = prng(99);
    const garbage = Uint8Array.from({ length: 512 }, () => Math.floor(next() * 256));
    await expect(loadSession(garbage)).rejects.toThrow(/^not an ONNX model \(corrupt or truncated bytes\): /);
  });

  it("fail to load a truncated file with a clear error", async () => {
    const bytes = exportPlain(depth3("squared"));
    await expect(loadSession(bytes.subarray(0, Math.floor(bytes.length / 2)))).rejects.toThrow(
      /^not an ONNX model \(corrupt or truncated bytes\): /,
    );
  });

  it("fail to load an empty byte array with a clear error", async () => {
    await expect(loadSession(new Uint8Array(0))).rejects.toThrow(/^not an ONNX model: no bytes$/);
  });

  it("fail to load a well-formed protobuf that is not a runnable model", async () => {
    const model = fromBinary(ModelProtoSchema, exportPlain(stump("squared")));
    model.opsetImport = model.opsetImport.filter((o) => o.domain !== "ai.onnx.ml"); // binds to ai.onnx.ml 5, where the op is gone
    await expect(loadSession(toBinary(ModelProtoSchema, model))).rejects.toThrow(
      /^onnxruntime could not load the model: .*TreeEnsembleRegressor/,
    );
  });

  it("refuse rows of the wrong width", async () => {
    const session = await load(exportPlain(stump("squared")));
    await expect(session.run(new Float32Array(4), 1)).rejects.toThrow(/reads 3 features per row, got 4/);
  });

  it("refuse to run once released", async () => {
    const session = await loadSession(exportPlain(stump("squared")));
    await session.release();
    await session.release();
    await expect(session.run(new Float32Array(3), 1)).rejects.toThrow(/released/);
  });
});

describe("the parity gate", () => {
  it("passes an honest export", async () => {
    const ensemble = randomEnsemble(11, "logistic", 50, 5, 12);
    const features = randomRows(4, ensemble, 256);
    const result = await checkParity(ensemble, exportPlain(ensemble), features, 256);
    expect(result.ok).toBe(true);
    expect(result.maxAbsDiff).toBeLessThanOrEqual(TOLERANCE);
  });

  it("fails a file whose trees differ from the ensemble", async () => {
    const ensemble = randomEnsemble(12, "squared", 50, 5, 12);
    const bytes = exportPlain(ensemble);
    const changed = structuredClone(ensemble);
    const leaf = changed.trees[0]!.nodes.find((n) => n.kind === "leaf")!;
    if (leaf.kind === "leaf") leaf.value = f(leaf.value + 0.01);
    const features = randomRows(5, ensemble, 256);
    const result = await checkParity(changed, bytes, features, 256);
    expect(result.ok).toBe(false);
    expect(result.maxAbsDiff).toBeCloseTo(0.01, 6);
  });
});
