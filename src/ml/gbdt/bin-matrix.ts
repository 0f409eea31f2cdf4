// The training rows as bins, in the two layouts the two hot loops want:
// - by column (one byte per row and feature), for partitioning a node's rows on one feature;
// - by row, sparse: only the cells NOT in their feature's most frequent ("default") bin. Our
//   rows are mostly one-hot columns that are 0, so a row has ~8 such cells out of ~60, and a
//   histogram built from them touches 7× fewer cells; the default bin's totals are recovered as
//   node total − the other bins (see histogram.ts). A numeric column's default bin is just its
//   fullest bin, so dense columns cost what a dense layout would.
import { type Binning, binOf } from "./binning.js";
import type { Dataset } from "./options.js";

/** Binned training rows. Global bin index of (feature f, bin b) = binOffset[f] + b. */
export interface BinMatrix {
  rows: number;
  featureCount: number;
  binCount: Uint16Array;
  binOffset: Uint32Array;
  totalBins: number;
  /** Features with at least two bins, ascending: the only ones a split can use. */
  usable: Uint32Array;
  /** Column-major bins: the bin of row r in feature f is columns[f * rows + r]. */
  columns: Uint8Array;
  /** Most frequent bin of each feature; left out of `entries`. */
  defaultBin: Uint8Array;
  /** Row r's non-default cells are entries[rowStart[r] … rowStart[r + 1]). */
  rowStart: Uint32Array;
  /** Global bin indexes of the non-default cells of usable features, by row. */
  entries: Uint16Array | Uint32Array;
}

/** Bins every training row with the boundaries found on them, in both layouts. */
export function buildBinMatrix(d: Dataset, binning: Binning): BinMatrix {
  const { rows, featureCount: width, features } = d;
  const binCount = binning.binCount;
  const binOffset = new Uint32Array(width);
  let totalBins = 0;
  const usableList: number[] = [];
  for (let f = 0; f < width; f++) {
    binOffset[f] = totalBins;
    totalBins += binCount[f]!;
    if (binCount[f]! >= 2) usableList.push(f);
  }
  const usable = Uint32Array.from(usableList);

  // Rows outer, features inner: reads the row-major input once, sequentially.
  const columns = new Uint8Array(width * rows);
  const binRows = new Float64Array(totalBins); // rows per global bin, to pick default bins
  for (let r = 0; r < rows; r++) {
    const offset = r * width;
    for (let u = 0; u < usable.length; u++) {
      const f = usable[u]!;
      const b = binOf(binning, f, features[offset + f]!);
      columns[f * rows + r] = b;
      binRows[binOffset[f]! + b]!++;
    }
  }

  const defaultBin = new Uint8Array(width);
  for (const f of usable) {
    let best = 0;
    for (let b = 1; b < binCount[f]!; b++) if (binRows[binOffset[f]! + b]! > binRows[binOffset[f]! + best]!) best = b;
    defaultBin[f] = best;
  }

  let cells = 0;
  for (const f of usable) cells += rows - binRows[binOffset[f]! + defaultBin[f]!]!;
  if (cells > 0xffff_ffff) throw new RangeError("too many non-default cells for 32-bit row offsets");
  const entries = totalBins <= 0x1_0000 ? new Uint16Array(cells) : new Uint32Array(cells);
  const rowStart = new Uint32Array(rows + 1);
  // Each row's cells are written in ascending feature order, so a row's entries are sorted.
  let at = 0;
  for (let r = 0; r < rows; r++) {
    rowStart[r] = at;
    for (let u = 0; u < usable.length; u++) {
      const f = usable[u]!;
      const b = columns[f * rows + r]!;
      if (b !== defaultBin[f]) entries[at++] = binOffset[f]! + b;
    }
  }
  rowStart[rows] = at;
  return { rows, featureCount: width, binCount, binOffset, totalBins, usable, columns, defaultBin, rowStart, entries };
}
