import { describe, expect, it } from "vitest";
import { evaluatePolicy } from "../../../src/learning/off-policy.js";
import { canaryEvidence, judgePromotion, MIN_ARM_CREDITED, shadowEvidence } from "../../../src/learning/promotion.js";

describe("canary promotion", () => {
  it("is refused with fewer than the minimum credited executions in an arm, whatever the rates", () => {
    const e = canaryEvidence({ credited: 100, successes: 10 }, { credited: MIN_ARM_CREDITED - 1, successes: MIN_ARM_CREDITED - 1 }, 0.95);
    expect(e.untrusted).toMatch(/too few/);
    expect(judgePromotion(e, 0.95, 0).promote).toBe(false);
  });

  it("is granted when the challenger is clearly better (80% vs 50% of 200 each)", () => {
    const e = canaryEvidence({ credited: 200, successes: 100 }, { credited: 200, successes: 160 }, 0.95);
    expect(e.difference).toBeCloseTo(0.3, 12);
    expect(e.lowerBound).toBeGreaterThan(0);
    expect(judgePromotion(e, 0.95, 0).promote).toBe(true);
  });

  it("is refused for equal rates at margin 0, granted for them within a margin of 0.1", () => {
    const e = canaryEvidence({ credited: 300, successes: 150 }, { credited: 300, successes: 150 }, 0.95);
    expect(judgePromotion(e, 0.95, 0).promote).toBe(false);
    expect(judgePromotion(e, 0.95, 0.1).promote).toBe(true);
  });
});

describe("shadow promotion", () => {
  const logging = (rewards: number[]) =>
    evaluatePolicy(
      rewards.map((r) => ({ reward: r, propensity: 0.5, targetProbability: 0.5, supportedMass: 1 })),
      "probability",
    );

  it("is refused when the challenger's evaluation cannot be trusted (too few weighted decisions)", () => {
    const rewards = [1, 0, 1, 1, 0];
    const challenger = evaluatePolicy(
      rewards.map((r) => ({ reward: r, propensity: 0.5, targetProbability: 1, supportedMass: 1 })),
      "probability",
    );
    const e = shadowEvidence(challenger, logging(rewards), 0.95);
    expect(e.untrusted).toMatch(/too little evidence/);
    expect(judgePromotion(e, 0.95, 0).promote).toBe(false);
  });

  it("is granted when the challenger puts its weight on the teams that succeeded", () => {
    // 400 decisions at propensity 0.5: the logged team succeeded in every other one; the
    // challenger would have chosen the logged team exactly when it succeeded.
    const rows = Array.from({ length: 400 }, (_, i) => ({
      reward: i % 2,
      propensity: 0.5,
      targetProbability: i % 2 === 1 ? 1 : 0,
      supportedMass: 1,
    }));
    const challenger = evaluatePolicy(rows, "probability");
    const e = shadowEvidence(challenger, logging(rows.map((r) => r.reward)), 0.95);
    expect(e.untrusted).toBeUndefined();
    expect(e.challenger).toBeCloseTo(1, 12);
    expect(e.champion).toBeCloseTo(0.5, 12);
    expect(judgePromotion(e, 0.95, 0).promote).toBe(true);
  });
});
