import { describe, expect, it } from "vitest";
import { buildBinMatrix } from "../../../src/ml/gbdt/bin-matrix.js";
import { binOf, computeBinning, thresholdOf } from "../../../src/ml/gbdt/binning.js";
import { binRows, type Dataset, trainGbdt } from "../../../src/ml/gbdt/train.js";
import { auc, meanAbsoluteError } from "../../../src/ml/metrics.js";
import { predictRaw, predictValue, type TreeEnsemble } from "../../../src/ml/tree-ensemble.js";
import { createRng, type Rng } from "../../../src/sim/random.js";

/** A dataset whose row r is written by `fill` (features start zeroed) and labelled by its return. */
function generate(rows: number, width: number, seed: number, fill: (x: Float32Array, at: number, rng: Rng) => number): Dataset {
  const rng = createRng(seed);
  const features = new Float32Array(rows * width);
  const labels = new Float64Array(rows);
  for (let r = 0; r < rows; r++) labels[r] = fill(features, r * width, rng);
  return { features, rows, featureCount: width, labels };
}

/** The smallest float32 above a positive float32 x. */
function nextFloat32(x: number): number {
  const bits = new Uint32Array(new Float32Array([x]).buffer);
  bits[0]!++;
  return new Float32Array(bits.buffer)[0]!;
}

const flip = (rng: Rng, y: boolean, noise: number): number => ((rng.chance(noise) ? !y : y) ? 1 : 0);

/** 10% label noise on: success iff (A present and B absent) or complexity < 1; 20 distractor agents. */
const AGENT_RULE_WIDTH = 23; // 0 complexity, 1 agent A, 2 agent B, 3… distractors
function agentRule(rows: number, seed: number, truth?: Float64Array): Dataset {
  return generate(rows, AGENT_RULE_WIDTH, seed, (x, at, rng) => {
    x[at] = rng.next() * 10;
    for (let f = 1; f < AGENT_RULE_WIDTH; f++) x[at + f] = rng.chance(f <= 2 ? 0.5 : 0.2) ? 1 : 0;
    const z = (x[at + 1] === 1 && x[at + 2] === 0) || x[at]! < 1;
    if (truth) truth[at / AGENT_RULE_WIDTH] = z ? 1 : 0;
    return flip(rng, z, 0.1);
  });
}

/** 10% label noise on y = x1 XOR x2, with 10 binary distractors. */
function xorRule(rows: number, seed: number): Dataset {
  return generate(rows, 12, seed, (x, at, rng) => {
    for (let f = 0; f < 12; f++) x[at + f] = rng.chance(0.5) ? 1 : 0;
    return flip(rng, x[at] !== x[at + 1], 0.1);
  });
}

function predictAll(ensemble: TreeEnsemble, d: Dataset): Float64Array {
  const out = new Float64Array(d.rows);
  for (let r = 0; r < d.rows; r++) out[r] = predictValue(ensemble, d.features, r * d.featureCount);
  return out;
}

/** Training rows reaching each leaf, keyed "tree/node", found by walking the trees on raw rows. */
function rowsPerLeaf(ensemble: TreeEnsemble, d: Dataset): Map<string, number> {
  const counts = new Map<string, number>();
  ensemble.trees.forEach((tree, t) => {
    for (const [i, node] of tree.nodes.entries()) if (node.kind === "leaf") counts.set(`${t}/${i}`, 0);
    for (let r = 0; r < d.rows; r++) {
      let i = 0;
      for (let node = tree.nodes[0]!; node.kind === "split"; node = tree.nodes[i]!) {
        i = d.features[r * d.featureCount + node.feature]! <= node.threshold ? node.left : node.right;
      }
      counts.set(`${t}/${i}`, counts.get(`${t}/${i}`)! + 1);
    }
  });
  return counts;
}

describe("binning", () => {
  it("gives a 0/1 column two bins split at 0.5 and a constant column one bin", () => {
    const d = generate(100, 3, 1, (x, at, rng) => {
      x[at] = rng.int(2);
      x[at + 1] = 7;
      x[at + 2] = rng.next();
      return 0;
    });
    const binning = computeBinning(d, 16);
    expect(Array.from(binning.binCount)).toEqual([2, 1, 16]);
    expect(thresholdOf(binning, 0, 0)).toBe(0.5);
    expect(Array.from(buildBinMatrix(d, binning).usable)).toEqual([0, 2]);
  });

  it("keeps adjacent float32 values in separate bins", () => {
    // Their midpoint rounds onto the upper value, so the boundary must fall back to the lower one.
    const a = Math.fround(1.1);
    const next = nextFloat32(a);
    const d = generate(10, 1, 3, (x, at) => {
      x[at] = at % 2 === 0 ? a : next;
      return 0;
    });
    const binning = computeBinning(d, 64);
    expect([binOf(binning, 0, a), binOf(binning, 0, next)]).toEqual([0, 1]);
    expect(thresholdOf(binning, 0, 0)).toBe(a);
  });

  it("sends a value left of a boundary exactly when BRANCH_LEQ on its float32 value does", () => {
    // Adjacent float32 values (whose midpoint rounds onto the upper one), negatives, ±0, repeats,
    // extremes and NaN: the cases where a threshold computed apart from the bins would drift.
    const a = Math.fround(1.1);
    const special = [a, nextFloat32(a), -0, 0, -3.5, 1e-30, 3e38, -Infinity, Infinity, NaN];
    for (const maxBins of [4, 64, 256]) {
      const d = generate(5000, 1, 2, (x, at, rng) => {
        x[at] = rng.chance(0.3) ? special[rng.int(special.length)]! : rng.normal() * 100;
        return 0;
      });
      const binning = computeBinning(d, maxBins);
      expect(binning.binCount[0]).toBeLessThanOrEqual(maxBins);
      const disagreements: string[] = [];
      for (let b = 0; b < binning.binCount[0]! - 1; b++) {
        const threshold = thresholdOf(binning, 0, b);
        if (Math.fround(threshold) !== threshold) disagreements.push(`threshold ${threshold} is not float32`);
        for (const x of d.features) if (binOf(binning, 0, x) <= b !== x <= threshold) disagreements.push(`${x} vs bin ${b} ≤ ${threshold}`);
      }
      expect(disagreements).toEqual([]);
    }
  });
});

describe("trainGbdt", () => {
  it("learns an agent rule under 10% label noise up to the Bayes-optimal AUC", () => {
    const truth = new Float64Array(4000);
    const validation = agentRule(4000, 2, truth);
    const result = trainGbdt(agentRule(16_000, 1), validation, { objective: "logistic" });
    const modelAuc = auc(predictAll(result.ensemble, validation), validation.labels);
    // The best possible scorer is the rule itself (P(y=1|x) is 0.9 or 0.1). With base rate
    // π = P(rule) = 0.25 + 0.75·0.1 = 0.325 and noise ε = 0.1, its AUC is ½(1 + TPR − FPR) with
    // TPR = 0.9π/(0.9π + 0.1(1 − π)) = 0.8125 and FPR = 0.1π/(0.1π + 0.9(1 − π)) = 0.0508, i.e.
    // 0.8809. (Under 10% symmetric noise no base rate allows more than 0.9, reached at π = ½,
    // so "AUC ≥ 0.9" would demand beating the optimum.) We ask for the rule's own AUC on these
    // same rows minus 0.01, about twice the sampling error of an AUC over 4,000 rows.
    const oracleAuc = auc(truth, validation.labels);
    expect(oracleAuc).toBeCloseTo(0.8809, 1);
    expect(modelAuc).toBeGreaterThanOrEqual(oracleAuc - 0.01);
  });

  it("learns an interaction that no sum of single-feature trees can represent", () => {
    const train = xorRule(16_000, 3);
    const validation = xorRule(4000, 4);
    const deep = trainGbdt(train, validation, { objective: "logistic" });
    const stumps = trainGbdt(train, validation, { objective: "logistic", maxDepth: 1 });
    // The Bayes-optimal AUC under 10% noise with π = ½ is 0.9; 0.85 leaves room for sampling.
    expect(auc(predictAll(deep.ensemble, validation), validation.labels)).toBeGreaterThanOrEqual(0.85);
    // Each feature alone says nothing about an XOR (P(y | x1) = ½), so stumps stay near chance.
    expect(auc(predictAll(stumps.ensemble, validation), validation.labels)).toBeLessThanOrEqual(0.6);
  });

  it("fits a linear target with squared loss to within the noise", () => {
    const line = (seed: number) =>
      generate(10_000, 3, seed, (x, at, rng) => {
        x[at] = rng.next();
        x[at + 1] = rng.next(); // distractors
        x[at + 2] = rng.int(2);
        return 2 * x[at]! + 0.1 * rng.normal();
      });
    const validation = line(6);
    const result = trainGbdt(line(5), validation, { objective: "squared" });
    // The noise alone costs σ·√(2/π) = 0.080 of MAE; 64 quantile bins over x1 add at most half a
    // bin of slope 2 (≈ 0.016). 0.1 is floor + steps + a little for boosting's approximation; it
    // is stricter than the 0.2 first asked for, which even a 10-step staircase would meet.
    expect(meanAbsoluteError(predictAll(result.ensemble, validation), validation.labels)).toBeLessThanOrEqual(0.1);
  });

  it("finds nothing in shuffled labels and stops early", () => {
    const noise = (rows: number, seed: number) => {
      const d = agentRule(rows, seed);
      const rng = createRng(seed + 100);
      for (let r = 0; r < rows; r++) d.labels[r] = rng.chance(0.5) ? 1 : 0;
      return d;
    };
    const validation = noise(4000, 8);
    const result = trainGbdt(noise(16_000, 7), validation, { objective: "logistic", maxTrees: 300, earlyStoppingRounds: 20 });
    // 0.6 is ~11 standard errors of a chance AUC over 4,000 rows: only real signal gets there.
    expect(auc(predictAll(result.ensemble, validation), validation.labels)).toBeLessThanOrEqual(0.6);
    // Each tree fits noise, so the validation loss only wanders by chance and its last new low
    // comes within the first 20 trees (here the 15th); training ends earlyStoppingRounds after
    // that best round, far short of maxTrees.
    expect(result.bestIteration).toBeLessThan(20);
    expect(result.validationLoss).toHaveLength(result.bestIteration + 21);
  });

  it("returns the training scores of the truncated ensemble when it stops early", () => {
    const train = agentRule(4000, 22);
    const result = trainGbdt(train, agentRule(1000, 23), { objective: "logistic", learningRate: 0.5 });
    // A high learning rate overfits fast, so the best round is well before the last one grown.
    expect(result.validationLoss.length).toBeGreaterThan(result.bestIteration + 1);
    for (let r = 0; r < train.rows; r++)
      expect(predictRaw(result.ensemble, train.features, r * AGENT_RULE_WIDTH)).toBe(result.trainScores[r]);
  });

  it("scores raw rows through the float32 thresholds exactly as training scored their bins", () => {
    const d = generate(5000, 4, 9, (x, at, rng) => {
      x[at] = rng.normal() * 1e3; // many distinct values: quantile bins
      x[at + 1] = Math.fround(1.1) + rng.int(40) * 1e-7; // close float32 values
      x[at + 2] = rng.int(2);
      x[at + 3] = rng.int(11) - 5;
      return Math.sin(x[at]! / 300) + x[at + 1]! * 3 + x[at + 2]! - 0.1 * x[at + 3]! + 0.2 * rng.normal();
    });
    // Validating on the training rows keeps all 30 trees (each lowers their loss), so every tree,
    // down to its small leaves, is checked.
    const result = trainGbdt(d, d, { objective: "squared", maxTrees: 30, minLeafSize: 5, maxDepth: 6 });
    expect(result.ensemble.trees).toHaveLength(30);
    // Exact equality, not closeness: the same leaves summed in the same order.
    for (let r = 0; r < d.rows; r++) expect(predictRaw(result.ensemble, d.features, r * 4)).toBe(result.trainScores[r]);
  });

  it("stores thresholds and leaf values as float32", () => {
    const result = trainGbdt(agentRule(4000, 11), agentRule(1000, 12), { objective: "logistic" });
    expect(Math.fround(result.ensemble.baseScore)).toBe(result.ensemble.baseScore);
    for (const node of result.ensemble.trees.flatMap((t) => t.nodes)) {
      const value = node.kind === "split" ? node.threshold : node.value;
      expect(Math.fround(value)).toBe(value);
    }
  });

  it("leaves at least minLeafSize training rows in every leaf", () => {
    const train = agentRule(8000, 13);
    const result = trainGbdt(train, agentRule(2000, 14), { objective: "logistic", minLeafSize: 150, maxDepth: 8 });
    const counts = [...rowsPerLeaf(result.ensemble, train).values()];
    // 150 is far above the default, so at depth 8 the limit binds in many leaves.
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(150);
    expect(Math.min(...counts)).toBeLessThan(300);
  });

  it("grows leaf-wise to at most maxLeaves leaves", () => {
    const result = trainGbdt(agentRule(8000, 15), agentRule(2000, 16), { objective: "logistic", maxLeaves: 5, maxDepth: 10 });
    const leaves = result.ensemble.trees.map((t) => t.nodes.filter((n) => n.kind === "leaf").length);
    expect(Math.max(...leaves)).toBe(5);
  });

  it("shrinks leaf values by H/(H + λ) under L2", () => {
    // 40 rows with x = 0, y = 0 and 60 rows with x = 1, y = 1: one split, base score 0.6, and
    // each leaf's Newton step is −Σ(base − y)/(n + λ), times the learning rate.
    const d = generate(100, 1, 17, (x, at) => {
      x[at] = at < 40 ? 0 : 1;
      return x[at]!; // y = x
    });
    const leaves = (l2: number) => {
      const tree = trainGbdt(d, d, { objective: "squared", maxTrees: 1, minLeafSize: 1, l2, learningRate: 0.5 }).ensemble.trees[0]!;
      return tree.nodes.flatMap((n) => (n.kind === "leaf" ? [n.value] : []));
    };
    const base = Math.fround(0.6);
    for (const l2 of [0, 10, 1000]) {
      const [left, right] = leaves(l2);
      // Six digits: the leaf values are float32 (about seven significant digits).
      expect(left).toBeCloseTo((-(40 * base) / (40 + l2)) * 0.5, 6);
      expect(right).toBeCloseTo((-(60 * (base - 1)) / (60 + l2)) * 0.5, 6);
    }
  });

  it("counts a row of weight 2 like two copies of it", () => {
    const d = xorRule(3000, 18);
    const weights = new Float64Array(d.rows).map((_, r) => (r % 3 === 0 ? 2 : 1));
    const copies: number[] = [];
    for (let r = 0; r < d.rows; r++) for (let k = 0; k < weights[r]!; k++) copies.push(r);
    const duplicated: Dataset = {
      rows: copies.length,
      featureCount: 12,
      features: Float32Array.from(copies.flatMap((r) => Array.from(d.features.subarray(r * 12, r * 12 + 12)))),
      labels: Float64Array.from(copies.map((r) => d.labels[r]!)),
    };
    const options = { objective: "logistic" as const, minLeafSize: 1, maxTrees: 20, earlyStoppingRounds: Infinity };
    const weighted = trainGbdt({ ...d, weights }, d, options).ensemble;
    const copied = trainGbdt(duplicated, d, options).ensemble;
    // Same sums in another order: equal to float32 precision, not bit for bit.
    for (let r = 0; r < d.rows; r++)
      expect(predictRaw(weighted, d.features, r * 12)).toBeCloseTo(predictRaw(copied, d.features, r * 12), 5);
  });

  it("gives the same model for the same data and seed", () => {
    const train = agentRule(5000, 19);
    const validation = agentRule(1000, 20);
    expect(trainGbdt(train, validation, { objective: "logistic" })).toEqual(trainGbdt(train, validation, { objective: "logistic" }));
    const sampled = (seed: number) => trainGbdt(train, validation, { objective: "logistic", featureFraction: 0.5, seed });
    expect(sampled(1)).toEqual(sampled(1));
    expect(sampled(1).ensemble).not.toEqual(sampled(2).ensemble);
    const rowSampled = (seed: number) => trainGbdt(train, validation, { objective: "logistic", rowsPerTree: 2000, seed }).ensemble;
    expect(rowSampled(1)).toEqual(rowSampled(1));
    expect(rowSampled(1)).not.toEqual(rowSampled(2));
  });

  it("learns from samples of rowsPerTree rows as well as from every row", () => {
    const truth = new Float64Array(4000);
    const validation = agentRule(4000, 2, truth);
    const train = agentRule(16_000, 1);
    const sampled = trainGbdt(train, validation, { objective: "logistic", rowsPerTree: 4000 });
    const full = trainGbdt(train, validation, { objective: "logistic" });
    const sampledAuc = auc(predictAll(sampled.ensemble, validation), validation.labels);
    // A quarter of the rows per tree: the rule is still found (same bound as with every row).
    expect(sampledAuc).toBeGreaterThanOrEqual(auc(truth, validation.labels) - 0.01);
    expect(sampledAuc).toBeGreaterThanOrEqual(auc(predictAll(full.ensemble, validation), validation.labels) - 0.01);
    expect(sampled.ensemble).not.toEqual(full.ensemble);
  });

  it("scores every training row exactly under row sampling, early stopped or not", () => {
    const train = agentRule(4000, 22);
    // A high learning rate overfits fast, so the best round is well before the last one grown.
    const stopped = trainGbdt(train, agentRule(1000, 23), { objective: "logistic", learningRate: 0.5, rowsPerTree: 1000 });
    expect(stopped.validationLoss.length).toBeGreaterThan(stopped.bestIteration + 1);
    const refit = trainGbdt(train, undefined, { objective: "logistic", maxTrees: 40, rowsPerTree: 1000 });
    for (const result of [stopped, refit]) {
      for (let r = 0; r < train.rows; r++)
        expect(predictRaw(result.ensemble, train.features, r * AGENT_RULE_WIDTH)).toBe(result.trainScores[r]);
    }
  });

  it("trains the same model on rows binned once for several fits", () => {
    const train = agentRule(3000, 24);
    const validation = agentRule(1000, 25);
    const binned = binRows(train);
    for (const rowsPerTree of [undefined, 1000]) {
      const options = { objective: "logistic" as const, rowsPerTree };
      expect(trainGbdt(train, validation, options, binned).ensemble).toEqual(trainGbdt(train, validation, options).ensemble);
    }
    expect(() => trainGbdt(agentRule(2000, 26), validation, { objective: "logistic" }, binned)).toThrow(RangeError);
  });

  it("rejects labels the objective cannot take", () => {
    const d = agentRule(100, 21);
    d.labels[0] = 2;
    expect(() => trainGbdt(d, d, { objective: "logistic" })).toThrow(RangeError);
  });
});
