import { describe, expect, it } from "vitest";
import { routingPoint, servesChallenger } from "../../../src/learning/canary-routing.js";

describe("routingPoint", () => {
  it("is the same for the same key, in [0, 1)", () => {
    for (const key of ["a", "session-17", "ü🚀", ""]) {
      const p = routingPoint(key);
      expect(p).toBe(routingPoint(key));
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(1);
    }
  });

  it("spreads 10,000 sequential keys evenly over ten bins (chi-square below the 99.9% point of 27.9)", () => {
    const bins = new Array<number>(10).fill(0);
    for (let n = 0; n < 10_000; n++) {
      const bin = Math.floor(routingPoint(`key-${n}`) * 10);
      bins[bin] = (bins[bin] ?? 0) + 1;
    }
    const chi = bins.reduce((a, b) => a + (b - 1_000) ** 2 / 1_000, 0);
    expect(chi).toBeLessThan(27.9);
  });
});

describe("servesChallenger", () => {
  it("routes a key by its hash, never by the draw", () => {
    const never = () => {
      throw new Error("drew for a keyed call");
    };
    const key = "task-7";
    expect(servesChallenger(0.5, key, never)).toBe(routingPoint(key) < 0.5);
  });

  it("draws for a call without a key", () => {
    expect(servesChallenger(0.3, "", () => 0.29)).toBe(true);
    expect(servesChallenger(0.3, "", () => 0.3)).toBe(false);
  });
});
