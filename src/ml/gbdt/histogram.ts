// Gradient histograms: for one node, per feature bin, the sums of gradients, hessians and rows.
// Split search reads them instead of the rows. Building one is the trainer's hottest loop, so it
// walks the sparse rows of bin-matrix.ts and fills the default bins afterwards by difference.
//
// Layout: one Float64Array of 3 × totalBins, cell i holding [ΣG, ΣH, count] at 3i … 3i + 2, so one
// row's update of one cell touches one cache line. Counts are float64 but exact (integers < 2^53).
import type { BinMatrix } from "./bin-matrix.js";

/** Sums over a node's rows. */
export interface NodeTotals {
  gradient: number;
  hessian: number;
  count: number;
}

/** A zeroed histogram for a bin matrix. */
export function newHistogram(m: BinMatrix): Float64Array {
  return new Float64Array(3 * m.totalBins);
}

/**
 * Fills `hist` (overwriting it) from the rows order[start … end) and returns their totals. Only
 * non-default cells are visited; each usable feature's default bin then gets what the node's
 * totals leave over, which is the same sum in another order (a last-bit difference at most).
 */
export function buildHistogram(
  m: BinMatrix,
  order: Uint32Array,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
  hist: Float64Array,
): NodeTotals {
  hist.fill(0);
  const { rowStart, entries } = m;
  let sumG = 0;
  let sumH = 0;
  for (let i = start; i < end; i++) {
    const r = order[i]!;
    const g = grad[r]!;
    const h = hess[r]!;
    sumG += g;
    sumH += h;
    const stop = rowStart[r + 1]!;
    for (let k = rowStart[r]!; k < stop; k++) {
      const cell = 3 * entries[k]!;
      hist[cell]! += g;
      hist[cell + 1]! += h;
      hist[cell + 2]! += 1;
    }
  }
  const count = end - start;
  for (const f of m.usable) {
    const first = m.binOffset[f]!;
    const last = first + m.binCount[f]!;
    let g = sumG;
    let h = sumH;
    let c = count;
    for (let bin = first; bin < last; bin++) {
      g -= hist[3 * bin]!;
      h -= hist[3 * bin + 1]!;
      c -= hist[3 * bin + 2]!;
    }
    const cell = 3 * (first + m.defaultBin[f]!);
    hist[cell] = g;
    hist[cell + 1] = h;
    hist[cell + 2] = c;
  }
  return { gradient: sumG, hessian: sumH, count };
}

/**
 * Turns a parent's histogram into its other child's, in place: parent − child. The subtraction
 * trick: after a split only the smaller child is built from rows, halving the work per level.
 */
export function subtractHistogram(parent: Float64Array, child: Float64Array): void {
  for (let i = 0; i < parent.length; i++) parent[i]! -= child[i]!;
}
