// The gate every exported file passes before it is stored or served: onnxruntime, loading the
// bytes exactly as a replica will, must give the same values as our own evaluation of the trees.
// It catches exporter bugs, attribute semantics we got wrong, and thresholds that were not
// float32 (where x <= t in float64 and in float32 disagree).
import { loadSession } from "./onnx-session.js";
import { predictValue, type TreeEnsemble } from "./tree-ensemble.js";

/** The outcome of a parity check. */
export interface ParityResult {
  /** Largest |onnxruntime − predictValue| over the rows (NaN counts as infinite). */
  maxAbsDiff: number;
  /** Whether maxAbsDiff is within the tolerance. */
  ok: boolean;
}

/**
 * Scores `rows` rows (row-major, `ensemble.featureCount` wide) with the exported `bytes` in a
 * fresh session and with `predictValue`, and compares them. The default tolerance, 1e-5, covers
 * onnxruntime's float32 accumulation and logistic against our float64 ones.
 */
export async function checkParity(
  ensemble: TreeEnsemble,
  bytes: Uint8Array,
  features: Float32Array,
  rows: number,
  tolerance = 1e-5,
): Promise<ParityResult> {
  if (features.length !== rows * ensemble.featureCount) {
    throw new Error(`parity rows: expected ${rows} × ${ensemble.featureCount} features, got ${features.length}`);
  }
  // A fresh session, never a serving one: this checks the bytes as a replica will load them.
  const session = await loadSession(bytes);
  try {
    const scores = await session.run(features, rows);
    if (scores.length !== rows) throw new Error(`onnxruntime returned ${scores.length} values for ${rows} rows`);
    let maxAbsDiff = 0;
    for (let row = 0; row < rows; row++) {
      const diff = Math.abs(scores[row]! - predictValue(ensemble, features, row * ensemble.featureCount));
      // NaN must fail the gate, and Math.max would carry it as NaN, which compares false.
      maxAbsDiff = Number.isNaN(diff) ? Infinity : Math.max(maxAbsDiff, diff);
    }
    return { maxAbsDiff, ok: maxAbsDiff <= tolerance };
  } finally {
    await session.release();
  }
}
