// Split search on a node's histogram: every usable feature, every boundary between its bins, the
// second-order gain of sending bins 0…b left and the rest right.
import type { BinMatrix } from "./bin-matrix.js";
import type { NodeTotals } from "./histogram.js";

/** The best split of a node: bins 0…bin of `feature` go left. */
export interface SplitCandidate {
  feature: number;
  bin: number;
  gain: number;
  left: NodeTotals;
  right: NodeTotals;
}

/** What constrains a split. */
export interface SplitRules {
  l2: number;
  minLeafSize: number;
  minGain: number;
}

/**
 * G²/(H + λ): twice the loss reduction of the optimal leaf weight −G/(H + λ). A non-positive
 * denominator (λ = 0 and saturated hessians) would divide by zero; such a leaf reduces nothing.
 */
export function leafScore(gradient: number, hessian: number, l2: number): number {
  const d = hessian + l2;
  return d > 0 ? (gradient * gradient) / d : 0;
}

/** The optimal (unshrunk) leaf weight −G/(H + λ), 0 where the denominator is not positive. */
export function leafWeight(gradient: number, hessian: number, l2: number): number {
  const d = hessian + l2;
  return d > 0 ? -gradient / d : 0;
}

/**
 * The split with the highest gain ½[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] that leaves at least
 * minLeafSize rows on each side and gains more than minGain; undefined when there is none.
 * `allowed` (by feature) restricts the features when a tree samples them. Ties keep the first
 * candidate in (feature, bin) order, so the result never depends on anything but the data.
 */
export function findBestSplit(
  m: BinMatrix,
  hist: Float64Array,
  totals: NodeTotals,
  rules: SplitRules,
  allowed: Uint8Array | undefined,
): SplitCandidate | undefined {
  const { l2, minLeafSize } = rules;
  if (totals.count < 2 * minLeafSize) return undefined;
  const parentScore = leafScore(totals.gradient, totals.hessian, l2);
  let bestGain = rules.minGain;
  let best: SplitCandidate | undefined;
  for (const f of m.usable) {
    if (allowed !== undefined && allowed[f] === 0) continue;
    const first = m.binOffset[f]!;
    const lastBoundary = first + m.binCount[f]! - 1;
    let gL = 0;
    let hL = 0;
    let cL = 0;
    for (let cell = first; cell < lastBoundary; cell++) {
      gL += hist[3 * cell]!;
      hL += hist[3 * cell + 1]!;
      cL += hist[3 * cell + 2]!;
      if (cL < minLeafSize) continue;
      const cR = totals.count - cL;
      if (cR < minLeafSize) break; // the right side only shrinks from here
      const gR = totals.gradient - gL;
      const hR = totals.hessian - hL;
      const gain = 0.5 * (leafScore(gL, hL, l2) + leafScore(gR, hR, l2) - parentScore);
      if (gain > bestGain) {
        bestGain = gain;
        best = {
          feature: f,
          bin: cell - first,
          gain,
          left: { gradient: gL, hessian: hL, count: cL },
          right: { gradient: gR, hessian: hR, count: cR },
        };
      }
    }
  }
  return best;
}
