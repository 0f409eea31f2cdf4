// Per-feature bins: the trainer sees every feature as a small integer (its bin), which makes split
// search a scan over ≤ maxBins histogram cells instead of a sort of the rows.
//
// The one rule that keeps training and serving in agreement: bin b of a feature holds the values
// x with upper[b − 1] < x <= upper[b] (the last bin holds everything above the last boundary, and
// NaN), where `upper` are float32 values. So "bin <= b" is exactly "x <= upper[b]" for a float32
// x, which is BRANCH_LEQ with threshold upper[b]: the tree evaluated on raw rows takes the same
// path as training took on bins. `binOf` is defined by that very comparison, never by a separate
// rounding of x, so the equivalence holds by construction.
import type { Dataset } from "./options.js";

/** The bin boundaries of every feature of a training set. */
export interface Binning {
  featureCount: number;
  /** Bins per feature; 1 means the column is constant in the training rows and cannot be split on. */
  binCount: Uint16Array;
  /** Where feature f's binCount[f] − 1 boundaries start in `upper`. */
  upperStart: Uint32Array;
  /** Upper boundaries, ascending per feature, float32 by storage. */
  upper: Float32Array;
}

/**
 * Above this many training rows, quantiles of a many-valued column are taken from an evenly
 * strided sample: the boundaries barely move, and sorting a million floats per column does not
 * pay for itself.
 */
const QUANTILE_SAMPLE = 200_000;

/**
 * A float32 boundary between two adjacent distinct float32 values a < b. The midpoint keeps
 * unseen values between them on the nearer side; when it rounds onto b (a and b adjacent
 * float32s), `a` is used instead so b still lands in the upper bin.
 */
function boundaryBetween(a: number, b: number): number {
  const mid = Math.fround(a / 2 + b / 2);
  return mid < b ? mid : a;
}

/**
 * Boundaries for a column with more distinct values than bins: each bin takes about rows/maxBins
 * of the sample, and a value repeated more than that gets a bin of its own rather than being split.
 */
function quantileBoundaries(sorted: Float32Array, maxBins: number): number[] {
  const n = sorted.length;
  const boundaries: number[] = [];
  let nextCut = n / maxBins;
  let i = 0;
  while (i < n && boundaries.length < maxBins - 1) {
    let j = i;
    while (j + 1 < n && sorted[j + 1] === sorted[i]) j++;
    // Run sorted[i..j] holds one distinct value; a cut may follow it.
    if (j + 1 < n && j + 1 >= nextCut) {
      boundaries.push(boundaryBetween(sorted[j]!, sorted[j + 1]!));
      nextCut = (Math.floor(((j + 1) * maxBins) / n) + 1) * (n / maxBins);
    }
    i = j + 1;
  }
  return boundaries;
}

/** The (non-NaN) values of one column, every row or an evenly strided sample, sorted. */
function sortedColumnSample(d: Dataset, feature: number): Float32Array {
  const stride = Math.max(1, Math.ceil(d.rows / QUANTILE_SAMPLE));
  const values = new Float32Array(Math.ceil(d.rows / stride));
  let n = 0;
  for (let r = 0; r < d.rows; r += stride) {
    const x = d.features[r * d.featureCount + feature]!;
    if (!Number.isNaN(x)) values[n++] = x;
  }
  return values.subarray(0, n).sort();
}

/**
 * Finds the bin boundaries of every feature from the training rows: a column with at most
 * maxBins distinct values gets one bin per value (so 0/1 columns get 2 bins, split at 0.5),
 * others get quantile bins. Weights are ignored: bins are about where rows are, not their worth.
 */
export function computeBinning(d: Dataset, maxBins: number): Binning {
  const { rows, featureCount: width, features } = d;
  // One row-major pass collects up to maxBins distinct values per column; a column that
  // overflows stops being tracked and goes to the quantile path.
  const distinct = new Float64Array(width * maxBins);
  const distinctCount = new Int32Array(width);
  for (let r = 0; r < rows; r++) {
    const offset = r * width;
    for (let f = 0; f < width; f++) {
      const count = distinctCount[f]!;
      if (count > maxBins) continue;
      const x = features[offset + f]!;
      if (Number.isNaN(x)) continue;
      const base = f * maxBins;
      let k = 0;
      while (k < count && distinct[base + k] !== x) k++;
      if (k < count) continue;
      if (count < maxBins) distinct[base + count] = x;
      distinctCount[f] = count + 1;
    }
  }
  const perFeature: number[][] = [];
  for (let f = 0; f < width; f++) {
    const count = distinctCount[f]!;
    if (count <= maxBins) {
      const values = distinct.slice(f * maxBins, f * maxBins + count).sort();
      const boundaries: number[] = [];
      for (let k = 0; k + 1 < count; k++) boundaries.push(boundaryBetween(values[k]!, values[k + 1]!));
      perFeature.push(boundaries);
    } else {
      perFeature.push(quantileBoundaries(sortedColumnSample(d, f), maxBins));
    }
  }
  const binCount = new Uint16Array(width);
  const upperStart = new Uint32Array(width);
  const upper = new Float32Array(perFeature.reduce((sum, b) => sum + b.length, 0));
  let at = 0;
  perFeature.forEach((boundaries, f) => {
    binCount[f] = boundaries.length + 1;
    upperStart[f] = at;
    upper.set(boundaries, at);
    at += boundaries.length;
  });
  return { featureCount: width, binCount, upperStart, upper };
}

/** The bin of value x in feature f: the first b with x <= upper[b], else the last bin (also NaN). */
export function binOf(binning: Binning, feature: number, x: number): number {
  const start = binning.upperStart[feature]!;
  let lo = 0;
  let hi = binning.binCount[feature]! - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= binning.upper[start + mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The BRANCH_LEQ threshold that sends exactly bins 0…bin of `feature` left (a float32 value). */
export function thresholdOf(binning: Binning, feature: number, bin: number): number {
  if (bin < 0 || bin >= binning.binCount[feature]! - 1) throw new RangeError(`feature ${feature} has no boundary after bin ${bin}`);
  return binning.upper[binning.upperStart[feature]! + bin]!;
}
