import { describe, expect, it } from "vitest";
import { type DecisionTerms, evaluatePolicy, MIN_EFFECTIVE_SAMPLE } from "../../../src/learning/off-policy.js";
import { createRng } from "../../../src/sim/random.js";

const terms = (reward: number, propensity: number, targetProbability: number, extra: Partial<DecisionTerms> = {}): DecisionTerms => ({
  reward,
  propensity,
  targetProbability,
  supportedMass: 1,
  ...extra,
});

// Weights 2, 0, 4, 0; rewards 1, 1, 0, 1.
const handCase = [terms(1, 0.5, 1), terms(1, 0.5, 0), terms(0, 0.25, 1), terms(1, 1, 0)];

describe("evaluatePolicy", () => {
  it("IPS is the mean of w·r: (2·1 + 0 + 4·0 + 0) / 4 = 0.5", () => {
    const v = evaluatePolicy(handCase, "probability");
    expect(v.ips.value).toBeCloseTo(0.5, 12);
    // terms 2, 0, 0, 0: sample variance ((1.5)² + 3·0.5²) / 3 = 1, standard error 1/√4 = 0.5
    expect(v.ips.standardError).toBeCloseTo(0.5, 12);
  });

  it("clips a success rate's interval to [0, 1]", () => {
    const v = evaluatePolicy(handCase, "probability");
    expect(v.ips.lower).toBe(0);
    expect(v.ips.upper).toBe(1);
  });

  it("self-normalised IPS divides by the sum of the weights: 2 / 6", () => {
    expect(evaluatePolicy(handCase, "probability").selfNormalized.value).toBeCloseTo(1 / 3, 12);
  });

  it("doubly robust adds the weighted residuals to the model: mean of 1.5, 0.5, −1.5, 0.5 = 0.25", () => {
    const modelled = handCase.map((d) => ({ ...d, modelLogged: 0.5, modelTarget: 0.5 }));
    const v = evaluatePolicy(modelled, "probability");
    expect(v.doublyRobust?.value).toBeCloseTo(0.25, 12);
  });

  it("has no doubly robust estimate without a reward model", () => {
    expect(evaluatePolicy(handCase, "probability").doublyRobust).toBeUndefined();
  });

  it("effective sample size is (Σw)² / Σw² = 36 / 20, and counts the decisions that carry weight", () => {
    const v = evaluatePolicy(handCase, "probability");
    expect(v.effectiveSampleSize).toBeCloseTo(1.8, 12);
    expect(v.matched).toBe(2);
    expect(v.maxWeight).toBe(4);
    expect(v.verdict).toBe("too_few");
  });

  it("the logging policy judged on its own decisions is its mean reward, with the full sample", () => {
    const rewards = [1, 0, 1, 1, 0, 1, 1, 1];
    const own = rewards.map((r, i) => terms(r, [0.9, 0.1, 0.5][i % 3]!, [0.9, 0.1, 0.5][i % 3]!));
    const v = evaluatePolicy(own, "probability");
    expect(v.ips.value).toBeCloseTo(0.75, 12);
    expect(v.selfNormalized.value).toBeCloseTo(0.75, 12);
    expect(v.effectiveSampleSize).toBeCloseTo(8, 12);
    expect(v.versusLogging.value).toBeCloseTo(0, 12);
    expect(v.versusLogging.standardError).toBeCloseTo(0, 12);
  });

  it("a perfect reward model makes doubly robust exact, with zero standard error", () => {
    const exact = [
      terms(1, 0.5, 1, { modelLogged: 1, modelTarget: 1 }),
      terms(0, 0.2, 1, { modelLogged: 0, modelTarget: 0 }),
      terms(0, 0.5, 0, { modelLogged: 0, modelTarget: 1 }),
    ];
    const v = evaluatePolicy(exact, "probability");
    expect(v.doublyRobust?.value).toBeCloseTo(2 / 3, 12);
    expect(v.doublyRobust?.standardError).toBeCloseTo(1 / 3, 12); // terms 1, 0, 1: variance 1/3, over n = 3
  });

  it("durations are only floored at zero", () => {
    const v = evaluatePolicy([terms(100, 0.5, 1), terms(300, 0.5, 1), terms(50, 1, 0)], "duration");
    expect(v.ips.value).toBeCloseTo(800 / 3, 9);
    expect(v.ips.upper).toBeGreaterThan(800 / 3);
    expect(v.ips.lower).toBe(0);
  });

  it("says there is no data when no decision was logged or none carries weight", () => {
    expect(evaluatePolicy([], "probability").verdict).toBe("no_data");
    expect(evaluatePolicy([terms(1, 0.5, 0), terms(0, 0.5, 0)], "probability").verdict).toBe("no_data");
  });

  it("says the support is too low when the policy often picks teams the logging policy could not", () => {
    const many = Array.from({ length: 400 }, (_, i) => terms(i % 2, 1, 1, { supportedMass: i % 10 === 0 ? 0 : 1 }));
    expect(evaluatePolicy(many, "probability").supportedShare).toBeCloseTo(0.9, 12);
    expect(evaluatePolicy(many, "probability").verdict).toBe("low_support");
  });

  it("trusts an evaluation with enough weight and support", () => {
    const many = Array.from({ length: MIN_EFFECTIVE_SAMPLE }, (_, i) => terms(i % 2, 1, 1));
    expect(evaluatePolicy(many, "probability").verdict).toBe("ok");
  });

  it("evaluates 300,000 decisions (no per-argument spread over the weights)", () => {
    const many = Array.from({ length: 300_000 }, (_, i) => terms(i % 2, i === 7 ? 0.01 : 0.5, 1));
    const v = evaluatePolicy(many, "probability");
    expect(v.maxWeight).toBeCloseTo(100, 9);
    expect(v.decisions).toBe(300_000);
  });

  it("IPS and doubly robust recover a rarely logged team's success rate, and their intervals hold it", () => {
    // Logging picks A with 0.8 and B with 0.2; A succeeds 30% of the time, B 70%. Target: always B.
    const rng = createRng(7);
    const logged = Array.from({ length: 20_000 }, () => {
      const b = rng.next() < 0.2;
      const success = rng.next() < (b ? 0.7 : 0.3) ? 1 : 0;
      // A deliberately wrong model (0.5 everywhere): doubly robust must still be unbiased.
      return terms(success, b ? 0.2 : 0.8, b ? 1 : 0, { modelLogged: 0.5, modelTarget: 0.5 });
    });
    const v = evaluatePolicy(logged, "probability");
    for (const e of [v.ips, v.selfNormalized, v.doublyRobust!]) {
      expect(Math.abs(e.value - 0.7)).toBeLessThan(4 * e.standardError);
      expect(e.lower).toBeLessThan(0.7);
      expect(e.upper).toBeGreaterThan(0.7);
    }
    // The target is better than the logging policy (0.8·0.3 + 0.2·0.7 = 0.38) and the data can tell.
    expect(v.versusLogging.lower).toBeGreaterThan(0);
    // Equal weights on the B decisions: they are worth exactly their number.
    expect(v.effectiveSampleSize).toBeCloseTo(v.matched, 9);
  });
});
