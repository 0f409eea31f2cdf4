import { performance } from "node:perf_hooks";
import { loadSession } from "../src/ml/onnx-session.js";
import { trainModels } from "../src/ml/train-models.js";
import { predictValue } from "../src/ml/tree-ensemble.js";
import { quantileSorted } from "./stats.js";
import { worldTrainingExamples } from "./training-examples.js";

/** How the inference section is run. */
export interface InferencePlan {
  /** Examples the success model is trained on (in this process, before any clock starts). */
  trainingRows: number;
  /** Timed runs per case, after `warmup` untimed ones. */
  runs: number;
  warmup: number;
  seed: number;
}

/** Latencies of one case, in microseconds. */
export interface InferenceCase {
  label: string;
  engine: "onnxruntime" | "predictValue";
  rows: number;
  runs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** Rows scored per second at the median latency. */
  rowsPerSecond: number;
}

/** What the section measured. */
export interface InferenceFigures {
  trainingRows: number;
  trees: number;
  featureCount: number;
  onnxBytes: number;
  loadMs: number;
  cases: InferenceCase[];
  /** Largest |onnxruntime − predictValue| over the 256-row batch. */
  maxAbsDiff: number;
}

const BATCH = 256;

/** Times `once` `runs` times; a synchronous one is not awaited, so no microtask is counted in. */
async function timeRuns(runs: number, warmup: number, once: () => unknown): Promise<Float64Array> {
  for (let i = 0; i < warmup; i++) await once();
  const latencies = new Float64Array(runs);
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const pending = once();
    if (pending) await pending;
    latencies[i] = (performance.now() - t0) * 1_000;
  }
  return latencies.sort();
}

function figures(label: string, engine: InferenceCase["engine"], rows: number, sorted: Float64Array): InferenceCase {
  const p50Us = quantileSorted(sorted, 0.5);
  return {
    label,
    engine,
    rows,
    runs: sorted.length,
    p50Us,
    p99Us: quantileSorted(sorted, 0.99),
    maxUs: sorted[sorted.length - 1] ?? Number.NaN,
    rowsPerSecond: rows / (p50Us / 1e6),
  };
}

/**
 * Trains the success model on the bench world, loads its exported ONNX bytes with the service's
 * own loadSession, and times one row and a 256-row batch through onnxruntime (each run awaited,
 * as the hot path awaits it), then the same rows through the TypeScript evaluation of the trees.
 */
export async function measureInference(plan: InferencePlan): Promise<InferenceFigures> {
  const examples = worldTrainingExamples(plan.seed, plan.trainingRows);
  const success = trainModels(examples, {}, "bench-inference").find((m) => m.kind === "success");
  if (!success) throw new Error("trainModels produced no success model");
  // The parity rows: up to 256 held-out validation rows in the model's own feature map.
  const width = success.ensemble.featureCount;
  if (success.parityRows < BATCH) throw new Error(`only ${success.parityRows} validation rows for a ${BATCH}-row batch`);
  const batch = success.parityFeatures.subarray(0, BATCH * width);
  const one = success.parityFeatures.slice(0, width);

  const t0 = performance.now();
  const session = await loadSession(success.onnx);
  const loadMs = performance.now() - t0;
  try {
    const onnxBatch = await session.run(batch, BATCH);
    let maxAbsDiff = 0;
    for (let row = 0; row < BATCH; row++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs((onnxBatch[row] ?? Number.NaN) - predictValue(success.ensemble, batch, row * width)));
    }
    let sink = 0;
    const cases = [
      figures("onnxruntime, 1 row", "onnxruntime", 1, await timeRuns(plan.runs, plan.warmup, () => session.run(one, 1))),
      figures(`onnxruntime, ${BATCH} rows`, "onnxruntime", BATCH, await timeRuns(plan.runs, plan.warmup, () => session.run(batch, BATCH))),
      figures(
        "predictValue (TypeScript), 1 row",
        "predictValue",
        1,
        await timeRuns(plan.runs, plan.warmup, () => {
          sink += predictValue(success.ensemble, one, 0);
        }),
      ),
      figures(
        `predictValue (TypeScript), ${BATCH} rows`,
        "predictValue",
        BATCH,
        await timeRuns(plan.runs, plan.warmup, () => {
          for (let row = 0; row < BATCH; row++) sink += predictValue(success.ensemble, batch, row * width);
        }),
      ),
    ];
    if (!Number.isFinite(sink)) throw new Error("predictValue returned a non-finite score");
    return {
      trainingRows: plan.trainingRows,
      trees: success.ensemble.trees.length,
      featureCount: width,
      onnxBytes: success.onnx.length,
      loadMs,
      cases,
      maxAbsDiff,
    };
  } finally {
    await session.release();
  }
}
