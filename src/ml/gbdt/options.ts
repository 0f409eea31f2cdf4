// The trainer's inputs and outputs, its defaults, and the checks that turn a bad call into a clear
// RangeError before any work is done (a wrong shape would otherwise read past a typed array and
// silently train on zeros).
import type { Objective, TreeEnsemble } from "../tree-ensemble.js";

/** A training or validation matrix: row-major float32 features, one label (and weight) per row. */
export interface Dataset {
  /** Row-major, rows × featureCount; the same float32 values serving will see. */
  features: Float32Array;
  rows: number;
  featureCount: number;
  /** logistic: in [0, 1] (usually 0 or 1); squared: any finite value. */
  labels: Float64Array;
  /** Non-negative row weights; every row weighs 1 when absent. */
  weights?: Float64Array;
}

/** How to train; every field has a default (see DEFAULT_TRAIN_OPTIONS). */
export interface TrainOptions {
  objective: Objective;
  /** Most bins per feature (2–256: bin indexes are bytes). */
  maxBins: number;
  /** Shrinkage applied to every leaf value. */
  learningRate: number;
  /** Deepest level a leaf may sit at (the root is depth 0). */
  maxDepth: number;
  /** When set, trees grow leaf-wise (best gain first) up to this many leaves, still within maxDepth. */
  maxLeaves: number | undefined;
  /** Fewest training rows on either side of a split. */
  minLeafSize: number;
  /** L2 penalty λ on leaf weights: w = −G/(H + λ). */
  l2: number;
  /** A split must gain strictly more than this. */
  minGain: number;
  maxTrees: number;
  /** Stop after this many trees without a better validation loss (Infinity: never stop early). */
  earlyStoppingRounds: number;
  /** Share of the usable features each tree may split on (1: all, no randomness). */
  featureFraction: number;
  /**
   * Most training rows each tree learns from. With more rows than this, each tree is grown on a
   * fresh uniform sample of about this many (stochastic gradient boosting) and then applied to
   * every row, so the scores of all rows stay exact; undefined: every tree sees every row.
   */
  rowsPerTree: number | undefined;
  /** Seed of the PRNG behind featureFraction < 1 and rowsPerTree; the same seed gives the same model. */
  seed: number;
}

/** What training produced. */
export interface TrainResult {
  /** Truncated to the trees 0…bestIteration (at least one tree). */
  ensemble: TreeEnsemble;
  /** 0-based index (into the loss arrays) of the round with the lowest validation loss. */
  bestIteration: number;
  /** Mean training loss after tree i + 1 (log loss for logistic, mean squared error for squared). */
  trainLoss: number[];
  /** Mean validation loss after tree i + 1, same measure (empty when trained without validation). */
  validationLoss: number[];
  /**
   * Raw scores of the training rows at bestIteration, as training computed them from bins. They
   * equal `predictRaw(ensemble, …)` on the raw rows exactly; callers and tests use them to prove
   * that the float32 thresholds reproduce the binned splits.
   */
  trainScores: Float64Array;
}

/** The defaults: shallow trees, modest shrinkage, early stopping on the validation loss. */
export const DEFAULT_TRAIN_OPTIONS: Readonly<TrainOptions> = Object.freeze({
  objective: "logistic",
  maxBins: 64,
  learningRate: 0.1,
  maxDepth: 4,
  maxLeaves: undefined,
  minLeafSize: 20,
  l2: 1.0,
  minGain: 0,
  maxTrees: 300,
  earlyStoppingRounds: 20,
  featureFraction: 1,
  rowsPerTree: undefined,
  seed: 1,
});

function ensure(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message);
}

const isInt = (v: number, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && v >= min && v <= max;

/** Fills in defaults and rejects values the trainer cannot honour. */
export function resolveTrainOptions(partial: Partial<TrainOptions>): TrainOptions {
  // Undefined fields fall back to the default, so `{ maxLeaves: undefined }` means "depth-wise".
  const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (o as unknown as Record<string, unknown>)[key] = value;
  }
  ensure(o.objective === "logistic" || o.objective === "squared", `objective must be "logistic" or "squared"`);
  ensure(isInt(o.maxBins, 2, 256), "maxBins must be an integer in [2, 256]");
  ensure(o.learningRate > 0 && Number.isFinite(o.learningRate), "learningRate must be positive");
  ensure(isInt(o.maxDepth, 1, 64), "maxDepth must be an integer in [1, 64]");
  ensure(o.maxLeaves === undefined || isInt(o.maxLeaves, 2), "maxLeaves must be an integer ≥ 2");
  ensure(isInt(o.minLeafSize, 1), "minLeafSize must be a positive integer");
  ensure(o.l2 >= 0 && Number.isFinite(o.l2), "l2 must be finite and ≥ 0");
  ensure(o.minGain >= 0 && Number.isFinite(o.minGain), "minGain must be finite and ≥ 0");
  ensure(isInt(o.maxTrees, 1), "maxTrees must be a positive integer");
  ensure(o.earlyStoppingRounds >= 1, "earlyStoppingRounds must be ≥ 1");
  ensure(o.featureFraction > 0 && o.featureFraction <= 1, "featureFraction must be in (0, 1]");
  ensure(o.rowsPerTree === undefined || isInt(o.rowsPerTree, 2 * o.minLeafSize), "rowsPerTree must be an integer ≥ 2 × minLeafSize");
  ensure(Number.isInteger(o.seed), "seed must be an integer");
  return o;
}

/** Rejects a dataset whose arrays do not match its stated shape or whose labels the loss cannot take. */
export function checkDataset(name: string, d: Dataset, objective: Objective, featureCount: number): void {
  ensure(isInt(d.rows, 1), `${name}: rows must be a positive integer`);
  ensure(d.featureCount === featureCount, `${name}: featureCount ${d.featureCount} differs from ${featureCount}`);
  ensure(d.features.length === d.rows * d.featureCount, `${name}: features must hold rows × featureCount values`);
  ensure(d.labels.length === d.rows, `${name}: labels must hold one value per row`);
  for (const y of d.labels) {
    ensure(Number.isFinite(y), `${name}: labels must be finite`);
    if (objective === "logistic") ensure(y >= 0 && y <= 1, `${name}: logistic labels must be in [0, 1]`);
  }
  if (d.weights !== undefined) {
    ensure(d.weights.length === d.rows, `${name}: weights must hold one value per row`);
    let total = 0;
    for (const w of d.weights) {
      ensure(w >= 0 && Number.isFinite(w), `${name}: weights must be finite and ≥ 0`);
      total += w;
    }
    ensure(total > 0, `${name}: weights must not all be zero`);
  }
}
