import { describe, expect, it } from "vitest";
import { flatPredictRaw, flatPredictValue, flattenEnsemble } from "../../../src/ml/flat-ensemble.js";
import { trainGbdt } from "../../../src/ml/gbdt/train.js";
import { predictRaw, predictValue } from "../../../src/ml/tree-ensemble.js";
import { createRng } from "../../../src/sim/random.js";

describe("flattenEnsemble", () => {
  it("scores every row bit for bit as the reference evaluation", () => {
    const rng = createRng(5);
    const width = 6;
    const rows = 3000;
    const features = new Float32Array(rows * width);
    const labels = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < width; f++) features[r * width + f] = f < 2 ? rng.normal() * 100 : rng.int(2);
      labels[r] = rng.chance(features[r * width]! > 0 && features[r * width + 2] === 1 ? 0.8 : 0.3) ? 1 : 0;
    }
    const ensemble = trainGbdt({ features, rows, featureCount: width, labels }, undefined, {
      objective: "logistic",
      maxTrees: 25,
      maxLeaves: 15,
      maxDepth: 6,
    }).ensemble;
    const flat = flattenEnsemble(ensemble);
    for (let r = 0; r < rows; r++) {
      expect(flatPredictRaw(flat, features, r * width)).toBe(predictRaw(ensemble, features, r * width));
      expect(flatPredictValue(flat, features, r * width)).toBe(predictValue(ensemble, features, r * width));
    }
  });
});
