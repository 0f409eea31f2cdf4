import { describe, expect, it } from "vitest";
import { auc, brier, logLoss, meanAbsoluteError } from "../../../src/ml/metrics.js";
import { createRng } from "../../../src/sim/random.js";

// Reference values are worked by hand in the comments; 12 digits is float64 round-off, not slack.
describe("logLoss", () => {
  it("is the mean negative log-likelihood of the outcomes", () => {
    // −(ln 0.8 + ln 0.7) / 2
    expect(logLoss([0.8, 0.3], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(logLoss([0.8, 0.3], [1, 0])).toBeCloseTo(0.289909246, 8);
  });

  it("weights each row's term", () => {
    // (1·(−ln 0.8) + 3·(−ln 0.7)) / 4
    expect(logLoss([0.8, 0.3], [1, 0], [1, 3])).toBeCloseTo((-Math.log(0.8) - 3 * Math.log(0.7)) / 4, 12);
  });

  it("stays finite on a certain mistake", () => {
    // p = 0 for an outcome that happened costs −ln(1e−15) ≈ 34.54 instead of infinity.
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 6);
  });

  it("rejects arrays of different lengths", () => {
    expect(() => logLoss([0.5], [1, 0])).toThrow(RangeError);
  });
});

describe("brier and meanAbsoluteError", () => {
  it("brier is the mean squared gap between probability and outcome", () => {
    // (0.2² + 0.3²) / 2 = 0.065
    expect(brier([0.8, 0.3], [1, 0])).toBeCloseTo(0.065, 12);
  });

  it("meanAbsoluteError is the (weighted) mean absolute difference", () => {
    // (1 + 0 + 3) / 3, then (1 + 0 + 2·3) / 4
    expect(meanAbsoluteError([1, 2, 4], [2, 2, 1])).toBeCloseTo(4 / 3, 12);
    expect(meanAbsoluteError([1, 2, 4], [2, 2, 1], [1, 1, 2])).toBeCloseTo(1.75, 12);
  });
});

describe("auc", () => {
  it("is the share of positive–negative pairs ranked the right way", () => {
    // Pairs (pos, neg): 0.35>0.1 ✓, 0.35<0.4 ✗, 0.8>0.1 ✓, 0.8>0.4 ✓ → 3/4.
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });

  it("counts a tie as half a pair", () => {
    // Positives score 2 and 3, negatives 1 and 2: 1 + ½ + 1 + 1 of 4 pairs = 0.875.
    expect(auc([1, 2, 2, 3], [0, 0, 1, 1])).toBe(0.875);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
  });

  it("is 1 for a perfect ranking and 0 for a reversed one, infinities included", () => {
    expect(auc([-Infinity, 0, 5, Infinity], [0, 0, 1, 1])).toBe(1);
    expect(auc([3, 2, 1], [0, 1, 1])).toBe(0);
  });

  it("is 0.5 when only one class is present", () => {
    // No pair exists; 0.5 ("no evidence") keeps a gate that demands AUC > 0.5 from passing.
    expect(auc([0.2, 0.9], [1, 1])).toBe(0.5);
  });

  it("agrees with counting every pair on random data with ties", () => {
    const rng = createRng(7);
    const scores = Array.from({ length: 300 }, () => Math.round(rng.next() * 20) / 20);
    const labels = scores.map((s) => (rng.chance(0.3 + 0.4 * s) ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < 300; i++) {
      for (let j = 0; j < 300; j++) {
        if (labels[i] !== 1 || labels[j] !== 0) continue;
        pairs++;
        wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    expect(auc(scores, labels)).toBeCloseTo(wins / pairs, 12);
  });
});
