// Gradient boosting: start from the best constant, then repeatedly fit a tree to the loss's
// gradients and hessians (Newton step per leaf, shrunk by the learning rate), until the validation
// loss has not improved for earlyStoppingRounds trees. The model returned stops at the tree with
// the best validation loss.
//
// Training rows are scored through their bins (each tree adds its leaf values to the rows of each
// leaf); validation rows are scored through the trees on their raw float32 values, exactly as
// serving will score them, so early stopping judges the model that will actually serve.
import type { Tree, TreeEnsemble } from "../tree-ensemble.js";
import { flattenTrees } from "../flat-ensemble.js";
import { buildBinMatrix } from "./bin-matrix.js";
import { type Binning, computeBinning } from "./binning.js";
import type { BinMatrix } from "./bin-matrix.js";
import { featureSampler, seededRandom } from "./feature-sampler.js";
import { type GrowContext, type GrownTree, growContext, growTree } from "./grow-tree.js";
import { addTreeToAllRows, routingBuffers } from "./route-rows.js";
import { LOSSES } from "./losses.js";
import { checkDataset, type Dataset, DEFAULT_TRAIN_OPTIONS, resolveTrainOptions, type TrainOptions, type TrainResult } from "./options.js";

export type { Dataset, TrainOptions, TrainResult } from "./options.js";

/** Adds one tree's value for every row of a row-major matrix, with BRANCH_LEQ as `predictRaw` does. */
function addTree(tree: Tree, d: Dataset, raw: Float64Array): void {
  const { feature, threshold, left, right, value } = flattenTrees([tree]);
  const x = d.features;
  for (let r = 0, offset = 0; r < d.rows; r++, offset += d.featureCount) {
    let i = 0;
    while (feature[i]! >= 0) i = x[offset + feature[i]!]! <= threshold[i]! ? left[i]! : right[i]!;
    raw[r]! += value[i]!;
  }
}

/**
 * A training matrix binned once, for several fits on the same rows with different labels (the
 * success and duration models share their features): binning costs seconds at 10^6 rows.
 */
export interface BinnedRows {
  binning: Binning;
  matrix: BinMatrix;
}

/** Bins a training matrix's features (its labels play no part) for `trainGbdt`. */
export function binRows(train: Pick<Dataset, "features" | "rows" | "featureCount">, maxBins = DEFAULT_TRAIN_OPTIONS.maxBins): BinnedRows {
  const d = { ...train, labels: new Float64Array(0) };
  const binning = computeBinning(d, maxBins);
  return { binning, matrix: buildBinMatrix(d, binning) };
}

/**
 * The gaps between kept rows when each row is kept with probability share, tabulated at 2^16
 * quantiles of the geometric distribution: a sample then costs one integer draw per kept row,
 * where a draw (or a logarithm) per row cost more than growing the tree on the sample.
 */
function geometricGaps(share: number): Int32Array {
  const gaps = new Int32Array(65536);
  const logSkip = Math.log1p(-share);
  for (let k = 0; k < gaps.length; k++) gaps[k] = Math.floor(Math.log1p(-(k + 0.5) / gaps.length) / logSkip);
  return gaps;
}

/** Places a fresh uniform sample of the rows (ascending) in ctx.order and returns its size. */
function sampleRows(ctx: GrowContext, gaps: Int32Array, random: () => number): number {
  const order = ctx.order;
  // xorshift32 seeded from the trainer's stream: plenty to thin rows, and reproducible.
  let state = Math.floor(random() * 4294967295) + 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 16) & 0xffff;
  };
  let size = 0;
  for (let r = gaps[next()]!; r < order.length; r += 1 + gaps[next()]!) order[size++] = r;
  return size;
}

/**
 * Trains a histogram-based gradient-boosted tree ensemble on `train`, early-stopped on
 * `validation`; with no validation set it grows exactly maxTrees trees (a refit on all rows with a
 * tree count chosen earlier). Deterministic: the same inputs (and seed) give the same trees.
 */
export function trainGbdt(
  train: Dataset,
  validation: Dataset | undefined,
  options: Partial<TrainOptions>,
  binned?: BinnedRows,
): TrainResult {
  const o = resolveTrainOptions(options);
  checkDataset("train", train, o.objective, train.featureCount);
  if (validation) checkDataset("validation", validation, o.objective, train.featureCount);
  const loss = LOSSES[o.objective];

  if (
    binned &&
    (binned.matrix.rows !== train.rows ||
      binned.binning.featureCount !== train.featureCount ||
      binned.binning.binCount.some((c) => c > o.maxBins))
  ) {
    throw new RangeError("binned rows do not match the training set or maxBins");
  }
  const { binning, matrix } = binned ?? binRows(train, o.maxBins);
  const ctx = growContext(matrix, binning, {
    rules: { l2: o.l2, minLeafSize: o.minLeafSize, minGain: o.minGain },
    maxDepth: o.maxDepth,
    maxLeaves: o.maxLeaves,
    learningRate: o.learningRate,
  });
  const sampleFeatures = featureSampler(matrix.usable, train.featureCount, o.featureFraction, o.seed);
  // Stochastic boosting above rowsPerTree rows: its own stream, so featureFraction's draws are the
  // same with or without it.
  const rowShare = o.rowsPerTree !== undefined && train.rows > o.rowsPerTree ? o.rowsPerTree / train.rows : 1;
  const rowRandom = seededRandom(o.seed ^ 0x5bd1e995);
  const baseScore = loss.baseScore(train.labels, train.weights);
  const raw = new Float64Array(train.rows).fill(baseScore);
  const routing = rowShare < 1 ? routingBuffers(train.rows) : undefined;
  const gaps = rowShare < 1 ? geometricGaps(rowShare) : undefined;
  const validationRaw = new Float64Array(validation?.rows ?? 0).fill(baseScore);
  const grad = new Float64Array(train.rows);
  const hess = new Float64Array(train.rows);

  const trees: Tree[] = [];
  const trainLoss: number[] = [];
  const validationLoss: number[] = [];
  let bestIteration = 0;
  let bestLoss = Infinity;
  const bestScores = new Float64Array(train.rows);

  for (let iteration = 0; iteration < o.maxTrees; iteration++) {
    // The gradient pass also yields the loss of the model so far: that is the previous tree's
    // training loss (on its sample when rows are sampled), saving a second pass over the rows.
    let grown: GrownTree;
    if (routing) {
      // A sample too small to split (possible only for tiny shares) still gets a tree: the root.
      const size = Math.max(1, sampleRows(ctx, gaps!, rowRandom));
      const lossSoFar = loss.gradients(raw, train.labels, train.weights, grad, hess, ctx.order, size);
      if (iteration > 0) trainLoss.push(lossSoFar);
      grown = growTree(ctx, grad, hess, sampleFeatures(), size);
      addTreeToAllRows(grown, matrix, routing, raw);
    } else {
      const lossSoFar = loss.gradients(raw, train.labels, train.weights, grad, hess);
      if (iteration > 0) trainLoss.push(lossSoFar);
      grown = growTree(ctx, grad, hess, sampleFeatures());
      for (const leaf of grown.leaves) {
        for (let i = leaf.start; i < leaf.end; i++) raw[ctx.order[i]!]! += leaf.value;
      }
    }
    trees.push(grown.tree);
    // Without a validation set every tree is kept: the last one is the best by definition.
    let current = Number.NEGATIVE_INFINITY;
    if (validation) {
      addTree(grown.tree, validation, validationRaw);
      current = loss.meanLoss(validationRaw, validation.labels, validation.weights);
      validationLoss.push(current);
    }

    if (current < bestLoss || iteration === 0 || !validation) {
      bestLoss = current;
      bestIteration = iteration;
      bestScores.set(raw);
    } else if (iteration - bestIteration >= o.earlyStoppingRounds) {
      break;
    }
    // A tree that could not split anywhere only nudges the constant; the next would be the same
    // kind of tree, so the data has nothing more to give at these settings.
    if (grown.tree.nodes.length === 1) break;
  }
  trainLoss.push(loss.meanLoss(raw, train.labels, train.weights));

  const ensemble: TreeEnsemble = {
    objective: o.objective,
    featureCount: train.featureCount,
    baseScore,
    trees: trees.slice(0, bestIteration + 1),
  };
  return { ensemble, bestIteration, trainLoss, validationLoss, trainScores: bestScores };
}
