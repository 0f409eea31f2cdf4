import { describe, expect, it } from "vitest";
import { differenceLowerBound, twoSidedZ, wilsonInterval } from "../../../src/learning/proportion-interval.js";
import { createRng } from "../../../src/sim/random.js";

describe("wilsonInterval", () => {
  it("matches the published 95% interval for 81 successes of 263 (Newcombe 1998, Table I: 0.2553 to 0.3662)", () => {
    const w = wilsonInterval(81, 263, twoSidedZ(0.95));
    expect(w.rate).toBeCloseTo(81 / 263, 12);
    expect(w.lower).toBeCloseTo(0.2553, 4);
    expect(w.upper).toBeCloseTo(0.3662, 4);
  });

  it("stays inside [0, 1] at 0 of 10 and 10 of 10, with room on the open side", () => {
    const none = wilsonInterval(0, 10, 1.96);
    expect(none.lower).toBe(0);
    expect(none.upper).toBeGreaterThan(0.2);
    const all = wilsonInterval(10, 10, 1.96);
    expect(all.upper).toBe(1);
    expect(all.lower).toBeLessThan(0.8);
  });

  it("says nothing of an empty count: [0, 1]", () => {
    expect(wilsonInterval(0, 0, 1.96)).toEqual({ rate: 0, lower: 0, upper: 1 });
  });

  it("covers the true rate in about 95% of 2,000 seeded samples of 50 draws at p = 0.3", () => {
    const rng = createRng(41);
    let covered = 0;
    for (let s = 0; s < 2_000; s++) {
      let k = 0;
      for (let i = 0; i < 50; i++) if (rng.next() < 0.3) k++;
      const w = wilsonInterval(k, 50, twoSidedZ(0.95));
      if (w.lower <= 0.3 && 0.3 <= w.upper) covered++;
    }
    expect(covered / 2_000).toBeGreaterThan(0.93);
    expect(covered / 2_000).toBeLessThan(0.975);
  });
});

describe("differenceLowerBound", () => {
  it("matches Newcombe's method 10 for 56/70 − 48/80 at 95% two-sided, i.e. 97.5% one-sided (published: 0.0524)", () => {
    const { difference, lower } = differenceLowerBound({ successes: 56, n: 70 }, { successes: 48, n: 80 }, 0.975);
    expect(difference).toBeCloseTo(0.2, 12);
    expect(lower).toBeCloseTo(0.0524, 4);
  });

  it("falls below 0 for equal rates and rises with the counts", () => {
    const small = differenceLowerBound({ successes: 15, n: 30 }, { successes: 15, n: 30 }, 0.95).lower;
    const large = differenceLowerBound({ successes: 1500, n: 3000 }, { successes: 1500, n: 3000 }, 0.95).lower;
    expect(small).toBeLessThan(large);
    expect(large).toBeLessThan(0);
  });
});
