import { describe, expect, it } from "vitest";
import { createRng } from "../../../src/sim/random.js";

describe("createRng", () => {
  it("replays the same numbers from the same seed", () => {
    const a = createRng(42);
    const b = createRng(42);
    const draws = (rng: ReturnType<typeof createRng>) => Array.from({ length: 100 }, () => rng.next());
    expect(draws(a)).toEqual(draws(b));
  });

  it("gives different numbers for different seeds", () => {
    expect(createRng(1).next()).not.toBe(createRng(2).next());
  });

  it("draws uniformly in [0, 1): mean near 1/2 and every tenth of the range about equally often", () => {
    const rng = createRng(7);
    const n = 100_000;
    const bins = new Array<number>(10).fill(0);
    let [sum, min, max] = [0, 1, 0];
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      [sum, min, max] = [sum + u, Math.min(min, u), Math.max(max, u)];
      bins[Math.floor(u * 10)]!++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // The mean of n uniforms has standard deviation 1/√(12n) ≈ 0.0009; 0.005 is over 5 of them.
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
    // Each bin count is Binomial(n, 0.1): standard deviation ≈ 95; 500 is over 5 of them.
    for (const count of bins) expect(Math.abs(count - n / 10)).toBeLessThan(500);
  });

  it("draws standard normals: mean near 0 and variance near 1", () => {
    const rng = createRng(11);
    const n = 50_000;
    const xs = Array.from({ length: n }, () => rng.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / n;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
    // Standard errors: 1/√n ≈ 0.0045 for the mean, √(2/n) ≈ 0.0063 for the variance.
    expect(Math.abs(mean)).toBeLessThan(0.025);
    expect(Math.abs(variance - 1)).toBeLessThan(0.035);
  });

  it("picks every element of a list and only elements of it", () => {
    const rng = createRng(3);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(rng.pick(["a", "b", "c"]));
    expect([...seen].sort()).toEqual(["a", "b", "c"]);
    expect(() => rng.pick([])).toThrow(RangeError);
  });
});
