// The one in-memory form of a trained model: gradient-boosted regression trees whose summed
// leaves (plus a base score) give a raw score; for the success model the raw score is a log-odds
// and the probability is its logistic. The trainer produces it, the ONNX exporter writes it, and
// `predictRaw` here is the reference evaluation that every exported file is checked against.
//
// Split semantics are ONNX's BRANCH_LEQ on float32 values: a row goes to the `left` child when
// float32(x[feature]) <= float32(threshold). Thresholds and leaf values are stored already
// rounded to float32 (Math.fround) so that this evaluation and onnxruntime's agree.

/** An inner node: go left when x[feature] <= threshold. */
export interface SplitNode {
  kind: "split";
  feature: number;
  threshold: number;
  left: number;
  right: number;
}

/** A leaf: adds `value` to the raw score. */
export interface LeafNode {
  kind: "leaf";
  value: number;
}

/** One tree; node 0 is the root; children are indexes into `nodes`. */
export interface Tree {
  nodes: (SplitNode | LeafNode)[];
}

/** What the raw score means. */
export type Objective = "logistic" | "squared";

/** A trained ensemble. */
export interface TreeEnsemble {
  objective: Objective;
  featureCount: number;
  /** Added to the sum of leaves (float32). */
  baseScore: number;
  trees: Tree[];
}

/** Sum of the leaves reached by `row` (offset into a row-major matrix), plus the base score. */
export function predictRaw(ensemble: TreeEnsemble, features: Float32Array, offset = 0): number {
  let sum = ensemble.baseScore;
  for (const tree of ensemble.trees) {
    let node = tree.nodes[0]!;
    while (node.kind === "split") {
      node = tree.nodes[features[offset + node.feature]! <= node.threshold ? node.left : node.right]!;
    }
    sum += node.value;
  }
  return sum;
}

/** The model's prediction: a probability for "logistic", the raw score for "squared". */
export function predictValue(ensemble: TreeEnsemble, features: Float32Array, offset = 0): number {
  const raw = predictRaw(ensemble, features, offset);
  return ensemble.objective === "logistic" ? 1 / (1 + Math.exp(-raw)) : raw;
}
