import { describe, expect, it } from "vitest";
import { betaCdf, betaInterval, betaMean, betaQuantile, logGamma, probabilityAbove, sampleBeta } from "../../../src/learning/beta.js";

// Reference values are closed forms: Beta(1,1) is uniform; Beta(a,1) has CDF x^a; the CDF of
// Beta(2,3) at 0.5 is 11/16 (integrate 12x(1-x)² from 0 to 1/2).
describe("beta arithmetic", () => {
  it("logGamma matches factorials", () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
  });

  it("the CDF matches closed forms", () => {
    expect(betaCdf(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(betaCdf(0.7, 3, 1)).toBeCloseTo(0.343, 12);
    expect(betaCdf(0.5, 2, 3)).toBeCloseTo(11 / 16, 12);
    expect(betaCdf(0.2, 50, 50)).toBeLessThan(1e-9);
  });

  it("the quantile inverts the CDF", () => {
    for (const [a, b] of [
      [2, 3],
      [0.5, 0.5],
      [120, 30],
      [1, 200],
    ] as const) {
      for (const p of [0.05, 0.5, 0.95]) expect(betaCdf(betaQuantile(p, a, b), a, b)).toBeCloseTo(p, 9);
    }
  });

  it("intervals narrow as evidence grows", () => {
    const few = betaInterval({ alpha: 3, beta: 2 }, 0.9);
    const many = betaInterval({ alpha: 300, beta: 200 }, 0.9);
    expect(few.upper - few.lower).toBeGreaterThan(many.upper - many.lower);
    expect(many.lower).toBeLessThan(0.6);
    expect(many.upper).toBeGreaterThan(0.6);
  });

  it("tail probability and mean agree with the distribution", () => {
    expect(probabilityAbove({ alpha: 1, beta: 1 }, 0.25)).toBeCloseTo(0.75, 12);
    expect(betaMean({ alpha: 9, beta: 1 })).toBe(0.9);
  });

  it("Thompson samples have the posterior mean", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += sampleBeta({ alpha: 3, beta: 7 }, random);
    expect(sum / 20000).toBeCloseTo(0.3, 2);
  });
});
