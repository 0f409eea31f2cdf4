// Gradient boosting: start from the best constant, then repeatedly fit a tree to the loss's
// gradients and hessians (Newton step per leaf, shrunk by the learning rate), until the validation
// loss has not improved for earlyStoppingRounds trees. The model returned stops at the tree with
// the best validation loss.
//
// Training rows are scored through their bins (each tree adds its leaf values to the rows of each
// leaf); validation rows are scored through the trees on their raw float32 values, exactly as
// serving will score them, so early stopping judges the model that will actually serve.
import type { Tree, TreeEnsemble } from "../tree-ensemble.js";
import { buildBinMatrix } from "./bin-matrix.js";
import { computeBinning } from "./binning.js";
import { featureSampler } from "./feature-sampler.js";
import { growContext, growTree } from "./grow-tree.js";
import { LOSSES } from "./losses.js";
import { checkDataset, type Dataset, resolveTrainOptions, type TrainOptions, type TrainResult } from "./options.js";

export type { Dataset, TrainOptions, TrainResult } from "./options.js";

/** Adds one tree's value for every row of a row-major matrix, with BRANCH_LEQ as `predictRaw` does. */
function addTree(tree: Tree, d: Dataset, raw: Float64Array): void {
  const nodes = tree.nodes;
  for (let r = 0; r < d.rows; r++) {
    const offset = r * d.featureCount;
    let node = nodes[0]!;
    while (node.kind === "split") node = nodes[d.features[offset + node.feature]! <= node.threshold ? node.left : node.right]!;
    raw[r]! += node.value;
  }
}

/**
 * Trains a histogram-based gradient-boosted tree ensemble on `train`, early-stopped on
 * `validation`; with no validation set it grows exactly maxTrees trees (a refit on all rows with a
 * tree count chosen earlier). Deterministic: the same inputs (and seed) give the same trees.
 */
export function trainGbdt(train: Dataset, validation: Dataset | undefined, options: Partial<TrainOptions>): TrainResult {
  const o = resolveTrainOptions(options);
  checkDataset("train", train, o.objective, train.featureCount);
  if (validation) checkDataset("validation", validation, o.objective, train.featureCount);
  const loss = LOSSES[o.objective];

  const binning = computeBinning(train, o.maxBins);
  const matrix = buildBinMatrix(train, binning);
  const ctx = growContext(matrix, binning, {
    rules: { l2: o.l2, minLeafSize: o.minLeafSize, minGain: o.minGain },
    maxDepth: o.maxDepth,
    maxLeaves: o.maxLeaves,
    learningRate: o.learningRate,
  });
  const sampleFeatures = featureSampler(matrix.usable, train.featureCount, o.featureFraction, o.seed);

  const baseScore = loss.baseScore(train.labels, train.weights);
  const raw = new Float64Array(train.rows).fill(baseScore);
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
    // training loss, saving a second pass over the rows per tree.
    const lossSoFar = loss.gradients(raw, train.labels, train.weights, grad, hess);
    if (iteration > 0) trainLoss.push(lossSoFar);

    const grown = growTree(ctx, grad, hess, sampleFeatures());
    for (const leaf of grown.leaves) {
      for (let i = leaf.start; i < leaf.end; i++) raw[ctx.order[i]!]! += leaf.value;
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
