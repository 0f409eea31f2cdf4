// Applying a tree grown on a sample of the rows (stochastic boosting) to every training row. The
// rows are partitioned down the tree by their bins, as training partitioned its sample: each split
// is one sequential pass over its rows' column, with no branch to mispredict, where routing each
// row through the tree chases pointers through a chain of dependent, unpredictable steps (three
// times the cost at 10^6 rows, where this is most of training's time).
import type { BinMatrix } from "./bin-matrix.js";
import type { GrownTree } from "./grow-tree.js";

/** Scratch for routing: as long as the training rows. */
export interface RoutingBuffers {
  order: Uint32Array;
  scratch: Uint32Array;
}

/** Buffers for routing the rows of a matrix. */
export function routingBuffers(rows: number): RoutingBuffers {
  return { order: new Uint32Array(rows), scratch: new Uint32Array(rows) };
}

/**
 * Moves the rows of order[start … end) whose bin in `feature` is <= bin to the front (stably);
 * returns the cut. Growing a tree splits its sample with it too.
 */
export function partitionByBin(m: BinMatrix, buffers: RoutingBuffers, start: number, end: number, feature: number, bin: number): number {
  const { order, scratch } = buffers;
  const columns = m.columns;
  const base = feature * m.rows;
  let left = start;
  let right = 0;
  for (let i = start; i < end; i++) {
    const r = order[i]!;
    // 1 when the row's bin is above the split's (it goes right), else 0: both slots are written
    // and one cursor moves, so the loop has no data-dependent branch.
    const goesRight = (bin - columns[base + r]!) >>> 31;
    order[left] = r;
    scratch[right] = r;
    left += 1 - goesRight;
    right += goesRight;
  }
  order.set(scratch.subarray(0, right), left);
  return left;
}

/** Adds the tree's leaf values to the scores of every row of the matrix, each row at the leaf its bins reach. */
export function addTreeToAllRows(grown: GrownTree, m: BinMatrix, buffers: RoutingBuffers, raw: Float64Array): void {
  const { order } = buffers;
  for (let i = 0; i < order.length; i++) order[i] = i;
  const nodes = grown.tree.nodes;
  const stack: number[] = [0, 0, order.length];
  while (stack.length > 0) {
    const end = stack.pop()!;
    const start = stack.pop()!;
    const index = stack.pop()!;
    const node = nodes[index]!;
    if (node.kind === "leaf") {
      for (let i = start; i < end; i++) raw[order[i]!]! += node.value;
      continue;
    }
    const cut = partitionByBin(m, buffers, start, end, node.feature, grown.splitBins[index]!);
    stack.push(node.left, start, cut, node.right, cut, end);
  }
}
