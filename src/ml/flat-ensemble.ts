// The same trees as tree-ensemble.ts, laid out in typed arrays for scoring many rows in a loop.
// Object nodes with a string `kind` cost several times more per step than array reads; training
// scores every validation and holdout row through every tree, so it uses this form, while
// `predictRaw` stays the reference that the exported ONNX files are checked against. Scores are
// the same bit for bit: thresholds and leaf values are already float32, leaves are summed in tree
// order.
import type { Tree, TreeEnsemble } from "./tree-ensemble.js";

/** Trees flattened into one node table; tree t's root is node roots[t]. */
export interface FlatEnsemble {
  objective: TreeEnsemble["objective"];
  baseScore: number;
  roots: Int32Array;
  /** Split feature of each node; −1 marks a leaf. */
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf value (0 for splits). */
  value: Float64Array;
}

/** Flattens trees into one node table (children renumbered into it). */
export function flattenTrees(trees: readonly Tree[], objective: TreeEnsemble["objective"] = "squared", baseScore = 0): FlatEnsemble {
  const total = trees.reduce((n, t) => n + t.nodes.length, 0);
  const flat: FlatEnsemble = {
    objective,
    baseScore,
    roots: new Int32Array(trees.length),
    feature: new Int32Array(total).fill(-1),
    threshold: new Float32Array(total),
    left: new Int32Array(total),
    right: new Int32Array(total),
    value: new Float64Array(total),
  };
  let base = 0;
  trees.forEach((tree, t) => {
    flat.roots[t] = base;
    tree.nodes.forEach((node, i) => {
      if (node.kind === "split") {
        flat.feature[base + i] = node.feature;
        flat.threshold[base + i] = node.threshold;
        flat.left[base + i] = base + node.left;
        flat.right[base + i] = base + node.right;
      } else {
        flat.value[base + i] = node.value;
      }
    });
    base += tree.nodes.length;
  });
  return flat;
}

/** An ensemble in its flat form. */
export function flattenEnsemble(ensemble: TreeEnsemble): FlatEnsemble {
  return flattenTrees(ensemble.trees, ensemble.objective, ensemble.baseScore);
}

/** Sum of the leaves `row` reaches (offset into a row-major matrix), plus the base score: `predictRaw`. */
export function flatPredictRaw(flat: FlatEnsemble, features: Float32Array, offset: number): number {
  const { roots, feature, threshold, left, right, value } = flat;
  let sum = flat.baseScore;
  for (let t = 0; t < roots.length; t++) {
    let i = roots[t]!;
    let f = feature[i]!;
    while (f >= 0) {
      i = features[offset + f]! <= threshold[i]! ? left[i]! : right[i]!;
      f = feature[i]!;
    }
    sum += value[i]!;
  }
  return sum;
}

/** The model's prediction, as `predictValue`: a probability for "logistic", the raw score otherwise. */
export function flatPredictValue(flat: FlatEnsemble, features: Float32Array, offset: number): number {
  const raw = flatPredictRaw(flat, features, offset);
  return flat.objective === "logistic" ? 1 / (1 + Math.exp(-raw)) : raw;
}
