import { describe, expect, it } from "vitest";
import {
  deadlineKey,
  filterByDeadline,
  normalLogDuration,
  probabilityWithin,
  residualLogDuration,
  type LogDurationDistribution,
} from "../../../src/learning/deadline.js";
import type { CombinationEvidence, TaskEvidence } from "../../../src/learning/evidence.js";
import { normalCdf } from "../../../src/learning/normal.js";
import type { RecommendRequest } from "../../../src/learning/ranking.js";
import { recommend } from "../../../src/learning/recommend.js";
import { createRng } from "../../../src/sim/random.js";
import { noSums, plus, team } from "../../support/evidence.js";

/** The seconds whose ln(1 + s) is `log`. */
const secondsAt = (log: number) => Math.expm1(log);

describe("probabilityWithin", () => {
  it("is Φ((ln(1 + D) − μ) / σ) for the statistical log-normal", () => {
    const d = normalLogDuration(4, 0.5);
    for (const z of [-2.5, -1, -0.3, 0, 0.7, 1.645, 3]) {
      expect(probabilityWithin(d, secondsAt(4 + z * 0.5))).toBeCloseTo(normalCdf(z), 6);
    }
  });

  it("is a normal fit when only the 5% and 95% residual quantiles are known", () => {
    // Residual quantiles ±0.8 at 5% / 95%: sd = 0.8 / 1.645, centred on the prediction 3.
    const d = residualLogDuration(3, [
      { p: 0.95, value: 0.8 },
      { p: 0.05, value: -0.8 },
    ])!;
    const sd = 0.8 / 1.6448536;
    expect(probabilityWithin(d, secondsAt(3))).toBeCloseTo(0.5, 6);
    expect(probabilityWithin(d, secondsAt(3 + sd))).toBeCloseTo(normalCdf(1), 5);
    expect(probabilityWithin(d, secondsAt(3 - 2 * sd))).toBeCloseTo(normalCdf(-2), 5);
  });

  it("passes through every stored quantile of a skewed residual distribution", () => {
    const quantiles = [
      { p: 0.05, value: -0.3 },
      { p: 0.1, value: -0.25 },
      { p: 0.5, value: -0.05 },
      { p: 0.8, value: 0.4 },
      { p: 0.9, value: 0.9 },
      { p: 0.95, value: 1.6 },
    ];
    const d = residualLogDuration(2, quantiles)!;
    for (const q of quantiles) expect(probabilityWithin(d, secondsAt(2 + q.value)), String(q.p)).toBeCloseTo(q.p, 6);
    // Right-skewed: the median is well below the point prediction plus half the 90% range.
    expect(probabilityWithin(d, secondsAt(2 + 0.65))).toBeLessThan(0.9);
  });

  it("grows with the deadline, from 0 at no time to 1 at no limit", () => {
    const d = residualLogDuration(4, [
      { p: 0.05, value: -1 },
      { p: 0.5, value: 0 },
      { p: 0.95, value: 2 },
    ])!;
    let previous = 0;
    for (let s = 0; s <= 20_000; s += 250) {
      const p = probabilityWithin(d, s);
      expect(p).toBeGreaterThanOrEqual(previous);
      expect(p).toBeLessThanOrEqual(1);
      previous = p;
    }
    expect(probabilityWithin(d, 0)).toBeLessThan(1e-3);
    expect(probabilityWithin(d, Number.POSITIVE_INFINITY)).toBe(1);
  });

  it("is a step at the value when the distribution has no spread", () => {
    const d: LogDurationDistribution = {
      center: Math.log1p(60),
      quantiles: [
        { p: 0.05, value: 0 },
        { p: 0.95, value: 0 },
      ],
    };
    expect(probabilityWithin(d, 59)).toBe(0);
    expect(probabilityWithin(d, 60)).toBe(1);
  });

  it("interpolates across quantiles that share a value", () => {
    const d = residualLogDuration(0, [
      { p: 0.1, value: -1 },
      { p: 0.4, value: 0 },
      { p: 0.6, value: 0 },
      { p: 0.9, value: 1 },
    ])!;
    const at = probabilityWithin(d, secondsAt(0.5));
    expect(at).toBeGreaterThan(0.6);
    expect(at).toBeLessThan(0.9);
  });

  it("needs two usable quantiles to make a distribution", () => {
    expect(residualLogDuration(3, [{ p: 0.05, value: -1 }])).toBeUndefined();
    expect(
      residualLogDuration(Number.NaN, [
        { p: 0.05, value: -1 },
        { p: 0.95, value: 1 },
      ]),
    ).toBeUndefined();
  });
});

describe("filterByDeadline", () => {
  const fast = { name: "fast", d: normalLogDuration(Math.log1p(30), 0.2) };
  const slow = { name: "slow", d: normalLogDuration(Math.log1p(600), 0.2) };
  const unknown = { name: "unknown", d: undefined };

  it("keeps, in order, the items likely enough to finish in time, and reports the best of the rest", () => {
    const filtered = filterByDeadline([slow, fast, unknown], (x) => x.d, { seconds: 60, level: 0.8 });
    expect(filtered.kept.map((x) => x.name)).toEqual(["fast"]);
    expect(filtered.excluded).toBe(2);
    expect(filtered.unknown).toBe(1);
    expect(filtered.bestExcludedProbability).toBeLessThan(1e-6);
  });

  it("holds the items to the level: the same team passes at 0.5 and fails at 0.99 when its median is the deadline", () => {
    const median = { d: normalLogDuration(Math.log1p(100), 0.3) };
    expect(filterByDeadline([median], (x) => x.d, { seconds: 100.5, level: 0.5 }).kept).toHaveLength(1);
    expect(filterByDeadline([median], (x) => x.d, { seconds: 100.5, level: 0.99 }).kept).toHaveLength(0);
  });

  it("keys rankings apart by deadline and level", () => {
    expect(deadlineKey(undefined)).toBe("");
    expect(deadlineKey({ seconds: 60, level: 0.8 })).not.toBe(deadlineKey({ seconds: 60, level: 0.9 }));
    expect(deadlineKey({ seconds: 60, level: 0.8 })).not.toBe(deadlineKey({ seconds: 61, level: 0.8 }));
  });
});

describe("recommend with a deadline", () => {
  /** The best team is slow (about 10 minutes), the second best fast (about 30 s). */
  function evidence(): TaskEvidence {
    const combinations: CombinationEvidence[] = [
      team(["A", "B"], 100, 95, 600),
      team(["C", "D"], 100, 80, 30),
      team(["E", "F"], 100, 60, 40),
    ];
    const names = [...new Set(combinations.flatMap((c) => c.agents))];
    return {
      taskType: "web_development",
      task: combinations.reduce(plus, noSums),
      combinations,
      agents: names.map((agent) => ({ agent, ...combinations.filter((c) => c.agents.includes(agent)).reduce(plus, noSums) })),
      catalog: names.map((name) => ({ name, category: "core", capabilities: [] })),
      asOfMs: 0,
    };
  }
  const request: RecommendRequest = {
    complexity: 2,
    maxRecommendations: 50,
    requiredAgents: [],
    excludedAgents: [],
    maxAgents: 0,
    successWeight: 1,
    explorationRate: 0,
  };
  const never = (): number => {
    throw new Error("no random draw expected");
  };

  it("ranks the slow best team first without a deadline and leaves it out with a tight one", () => {
    const world = evidence();
    expect(recommend(world, request, never).recommendations[0]?.agents.sort()).toEqual(["A", "B"]);
    const tight = recommend(world, { ...request, deadline: { seconds: 120, level: 0.8 } }, never);
    const first = tight.recommendations[0]!;
    expect(first.agents.sort()).toEqual(["C", "D"]);
    for (const r of tight.recommendations) {
      expect(r.agents, "a team with A and B cannot finish in 2 minutes").not.toContain("A");
      expect(r.deadlineProbability).toBeGreaterThanOrEqual(0.8);
    }
    expect(tight.deadline?.excluded).toBeGreaterThan(0);
    expect(tight.deadline?.considered).toBe(tight.deadline!.excluded + tight.recommendations.length);
  });

  it("answers an empty list, saying how close the likeliest team came, when no team can meet the deadline", () => {
    const none = recommend(evidence(), { ...request, deadline: { seconds: 1, level: 0.8 } }, never);
    expect(none.recommendations).toEqual([]);
    expect(none.deadline?.excluded).toBe(none.deadline?.considered);
    expect(none.deadline?.bestExcludedProbability).toBeLessThan(0.8);
  });

  it("gives every qualifying team its propensity and none to the excluded ones when exploring", () => {
    const rng = createRng(7);
    const ranked = recommend(evidence(), { ...request, explorationRate: 0.5, deadline: { seconds: 120, level: 0.8 } }, () => rng.next());
    const total = ranked.recommendations.reduce((sum, r) => sum + r.propensity, 0);
    expect(total).toBeCloseTo(1, 6);
    for (const r of ranked.recommendations) expect(r.agents).not.toContain("A");
  });

  it("admits no team of a task type with no recorded duration", () => {
    const cold: TaskEvidence = { ...evidence(), task: noSums, combinations: [], agents: [] };
    const ranked = recommend(cold, { ...request, deadline: { seconds: 3600, level: 0.5 } }, never);
    expect(ranked.recommendations).toEqual([]);
    expect(ranked.deadline?.unknown).toBe(ranked.deadline?.considered);
  });
});
