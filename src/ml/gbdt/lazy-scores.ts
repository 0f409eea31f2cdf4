// Training scores when each tree is grown on a sample of the rows (stochastic boosting). A tree's
// gradients are needed only for the rows it samples, so a row's score is brought up to date when
// it is sampled, through every tree since its last update, and once more at the end. Routing all
// rows through every new tree cost more than growing it: each pass streamed the whole row-major
// bin matrix from memory, where a catch-up reads a row once for about 1/share trees.
//
// Trees are added to a row in the order they were grown, so every score is the same float64 sum
// as routing each tree over every row as soon as it exists.
import { flattenTrees } from "../flat-ensemble.js";
import type { BinMatrix } from "./bin-matrix.js";
import type { GrownTree } from "./grow-tree.js";

/** One grown tree, routed by bins: a row goes left when its bin in `feature` is <= `bin`. */
interface BinTree {
  feature: Int32Array;
  bin: Int16Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

/** The bins of every training row, row-major (row r's feature f at r · featureCount + f). */
export function rowMajorBins(m: BinMatrix): Uint8Array {
  const { rows, featureCount, columns } = m;
  const out = new Uint8Array(rows * featureCount);
  for (const f of m.usable) {
    const base = f * rows;
    for (let r = 0; r < rows; r++) out[r * featureCount + f] = columns[base + r]!;
  }
  return out;
}

/** Scores of the training rows under row sampling, each row as current as its last use needs. */
export class LazyRowScores {
  readonly #trees: BinTree[] = [];
  /** How many trees (the first ones) raw[r] includes. */
  readonly #applied: Uint32Array;

  constructor(
    private readonly bins: Uint8Array,
    private readonly featureCount: number,
    private readonly baseScore: number,
    /** The rows' scores: baseScore plus the trees applied so far. */
    readonly raw: Float64Array,
  ) {
    this.#applied = new Uint32Array(raw.length);
  }

  /** Brings rows[0 … count) up to date with every tree grown so far. */
  catchUp(rows: Uint32Array, count: number): void {
    for (let i = 0; i < count; i++) this.#advance(rows[i]!, this.#trees.length);
  }

  /** Brings every row up to date. */
  catchUpAll(): void {
    for (let r = 0; r < this.raw.length; r++) this.#advance(r, this.#trees.length);
  }

  /**
   * Adds a tree grown on the rows order[0 … sampleSize), which must be up to date: they take
   * their leaf's value directly (their leaves are known); the others take it when next used.
   */
  add(grown: GrownTree, order: Uint32Array): void {
    const { feature, left, right, value } = flattenTrees([grown.tree]);
    this.#trees.push({ feature, bin: grown.splitBins, left, right, value });
    const raw = this.raw;
    const applied = this.#applied;
    for (const leaf of grown.leaves) {
      for (let i = leaf.start; i < leaf.end; i++) {
        const r = order[i]!;
        raw[r]! += leaf.value;
        applied[r]!++;
      }
    }
  }

  /** Every row's score through the first `treeCount` trees exactly (rows past it are recomputed). */
  scoresAt(treeCount: number): Float64Array {
    const out = new Float64Array(this.raw.length);
    for (let r = 0; r < out.length; r++) {
      if (this.#applied[r]! <= treeCount) {
        this.#advance(r, treeCount);
        out[r] = this.raw[r]!;
      } else {
        out[r] = this.#route(r, 0, treeCount, this.baseScore);
      }
    }
    return out;
  }

  #advance(r: number, to: number): void {
    const from = this.#applied[r]!;
    if (from >= to) return;
    this.raw[r] = this.#route(r, from, to, this.raw[r]!);
    this.#applied[r] = to;
  }

  /** `score` plus the values of trees from … to − 1 for row r, added in tree order. */
  #route(r: number, from: number, to: number, score: number): number {
    const bins = this.bins;
    const offset = r * this.featureCount;
    let sum = score;
    for (let t = from; t < to; t++) {
      const { feature, bin, left, right, value } = this.#trees[t]!;
      let i = 0;
      while (feature[i]! >= 0) i = bins[offset + feature[i]!]! <= bin[i]! ? left[i]! : right[i]!;
      sum += value[i]!;
    }
    return sum;
  }
}
