// Grows one regression tree on gradients and hessians. Each leaf owns a contiguous range of
// `order` (row indexes); a split partitions that range in place, stably, so rows stay in
// ascending order within a node and the histogram loop reads memory mostly forwards.
//
// Growth is depth-wise by default (every leaf that can split does, level by level, up to
// maxDepth) and leaf-wise when maxLeaves is set (the leaf with the highest gain splits next). Both
// are the same loop with a different choice of the next leaf.
import type { LeafNode, SplitNode, Tree } from "../tree-ensemble.js";
import type { BinMatrix } from "./bin-matrix.js";
import { findBestSplit, leafWeight, type SplitCandidate, type SplitRules } from "./best-split.js";
import { type Binning, thresholdOf } from "./binning.js";
import { buildHistogram, newHistogram, type NodeTotals, subtractHistogram } from "./histogram.js";
import { partitionByBin } from "./route-rows.js";

/** Everything that stays the same across the trees of one training run. */
export interface GrowContext {
  matrix: BinMatrix;
  binning: Binning;
  rules: SplitRules;
  maxDepth: number;
  maxLeaves: number | undefined;
  learningRate: number;
  /** Row indexes, partitioned by the tree being grown; reset to 0…rows − 1 before each tree. */
  order: Uint32Array;
  /** Scratch for the stable partition, as long as `order`. */
  scratch: Uint32Array;
  /** Reused histogram buffers: a tree needs a few, and a fresh 90 kB array per node is garbage. */
  pool: Float64Array[];
}

/** A leaf of a grown tree: its rows are order[start … end), its value is already shrunk and float32. */
export interface GrownLeaf {
  start: number;
  end: number;
  value: number;
}

/** A tree and, for applying it to the training rows without evaluating it, its leaves' rows. */
export interface GrownTree {
  tree: Tree;
  leaves: GrownLeaf[];
  /** By node: the bin a split node sends left at or below (its threshold in bins); −1 for leaves. */
  splitBins: Int16Array;
}

interface OpenLeaf {
  node: number;
  depth: number;
  start: number;
  end: number;
  totals: NodeTotals;
  /** Present only while the leaf may still split (it feeds its children by subtraction). */
  hist: Float64Array | undefined;
  split: SplitCandidate | undefined;
}

/** Prepares the per-run state for growing trees on a bin matrix. */
export function growContext(
  matrix: BinMatrix,
  binning: Binning,
  options: Omit<GrowContext, "matrix" | "binning" | "order" | "scratch" | "pool">,
): GrowContext {
  return { ...options, matrix, binning, order: new Uint32Array(matrix.rows), scratch: new Uint32Array(matrix.rows), pool: [] };
}

function takeHistogram(ctx: GrowContext): Float64Array {
  return ctx.pool.pop() ?? newHistogram(ctx.matrix);
}

/**
 * Grows one tree on the gradients; `allowed` (by feature) limits the features it may split on.
 * Without `sampleSize` the tree learns from every row; with it, from the rows the caller placed in
 * order[0 … sampleSize) (ascending), and its leaves hold only those rows.
 */
export function growTree(
  ctx: GrowContext,
  grad: Float64Array,
  hess: Float64Array,
  allowed: Uint8Array | undefined,
  sampleSize?: number,
): GrownTree {
  const { matrix, rules, maxDepth, maxLeaves, order } = ctx;
  const rows = sampleSize ?? order.length;
  if (sampleSize === undefined) for (let i = 0; i < order.length; i++) order[i] = i;
  const splitBins: number[] = [-1];
  const nodes: (SplitNode | LeafNode)[] = [{ kind: "leaf", value: 0 }];
  // A leaf that can never split needs no histogram; deciding that up front skips building the
  // whole last level of a depth-wise tree.
  const mayGrow = (depth: number, count: number, leafCount: number) =>
    depth < maxDepth && count >= 2 * rules.minLeafSize && (maxLeaves === undefined || leafCount < maxLeaves);

  const rootHist = takeHistogram(ctx);
  const rootTotals = buildHistogram(matrix, order, 0, rows, grad, hess, rootHist);
  const leaves: OpenLeaf[] = [{ node: 0, depth: 0, start: 0, end: rows, totals: rootTotals, hist: rootHist, split: undefined }];
  const root = leaves[0]!;
  if (mayGrow(0, rootTotals.count, 1)) root.split = findBestSplit(matrix, rootHist, rootTotals, rules, allowed);

  for (;;) {
    if (maxLeaves !== undefined && leaves.length >= maxLeaves) break;
    const next = pickNext(leaves, maxLeaves !== undefined);
    if (next === undefined) break;
    const parent = leaves[next]!;
    const split = parent.split!;
    const mid = partitionByBin(ctx.matrix, ctx, parent.start, parent.end, split.feature, split.bin);
    if (mid - parent.start !== split.left.count) throw new Error("internal: partition disagrees with the histogram");

    const leftNode = nodes.length;
    nodes.push({ kind: "leaf", value: 0 }, { kind: "leaf", value: 0 });
    splitBins.push(-1, -1);
    splitBins[parent.node] = split.bin;
    nodes[parent.node] = {
      kind: "split",
      feature: split.feature,
      threshold: thresholdOf(ctx.binning, split.feature, split.bin),
      left: leftNode,
      right: leftNode + 1,
    };
    const depth = parent.depth + 1;
    const left: OpenLeaf = { node: leftNode, depth, start: parent.start, end: mid, totals: split.left, hist: undefined, split: undefined };
    const right: OpenLeaf = {
      node: leftNode + 1,
      depth,
      start: mid,
      end: parent.end,
      totals: split.right,
      hist: undefined,
      split: undefined,
    };
    leaves.splice(next, 1, left, right);
    fillChildHistograms(ctx, parent.hist!, left, right, grad, hess, (c) => mayGrow(depth, c.totals.count, leaves.length));
    for (const child of [left, right]) {
      if (child.hist !== undefined) child.split = findBestSplit(matrix, child.hist, child.totals, rules, allowed);
      if (child.split === undefined) release(ctx, child);
    }
  }

  const grown: GrownLeaf[] = [];
  for (const leaf of leaves) {
    release(ctx, leaf);
    const value = Math.fround(leafWeight(leaf.totals.gradient, leaf.totals.hessian, rules.l2) * ctx.learningRate);
    nodes[leaf.node] = { kind: "leaf", value };
    grown.push({ start: leaf.start, end: leaf.end, value });
  }
  return { tree: { nodes }, leaves: grown, splitBins: Int16Array.from(splitBins) };
}

/**
 * The next leaf to split: depth-wise takes the shallowest splittable leaf (leftmost of equals;
 * children replace their parent in the list, so list order is left to right), finishing a level
 * before the next; leaf-wise takes the highest gain (leftmost of equals).
 */
function pickNext(leaves: OpenLeaf[], bestFirst: boolean): number | undefined {
  let pick: number | undefined;
  for (let i = 0; i < leaves.length; i++) {
    const s = leaves[i]!.split;
    if (s === undefined) continue;
    if (!bestFirst) {
      if (pick === undefined || leaves[i]!.depth < leaves[pick]!.depth) pick = i;
    } else if (pick === undefined || s.gain > leaves[pick]!.split!.gain) {
      pick = i;
    }
  }
  return pick;
}

/**
 * Gives the children that may still grow their histograms, building only the smaller child from
 * rows and deriving the larger one as parent − smaller (in the parent's buffer).
 */
function fillChildHistograms(
  ctx: GrowContext,
  parentHist: Float64Array,
  left: OpenLeaf,
  right: OpenLeaf,
  grad: Float64Array,
  hess: Float64Array,
  mayGrow: (leaf: OpenLeaf) => boolean,
): void {
  const [small, large] = left.totals.count <= right.totals.count ? [left, right] : [right, left];
  const needSmall = mayGrow(small);
  const needLarge = mayGrow(large);
  if (!needLarge) {
    // Nothing to subtract from: the parent's buffer is free for the small child, if it needs one.
    if (needSmall) {
      buildHistogram(ctx.matrix, ctx.order, small.start, small.end, grad, hess, parentHist);
      small.hist = parentHist;
    } else {
      ctx.pool.push(parentHist);
    }
    return;
  }
  const smallHist = takeHistogram(ctx);
  buildHistogram(ctx.matrix, ctx.order, small.start, small.end, grad, hess, smallHist);
  subtractHistogram(parentHist, smallHist);
  large.hist = parentHist;
  if (needSmall) small.hist = smallHist;
  else ctx.pool.push(smallHist);
}

function release(ctx: GrowContext, leaf: OpenLeaf): void {
  if (leaf.hist !== undefined) ctx.pool.push(leaf.hist);
  leaf.hist = undefined;
}
