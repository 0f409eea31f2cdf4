import { describe, expect, it } from "vitest";
import { normalQuantile } from "../../../src/learning/normal.js";
import { evaluatePolicy } from "../../../src/learning/off-policy.js";
import { selfNormalizedFromSums, shadowPolicy } from "../../../src/learning/shadow-policy.js";
import type { LoggedDecision } from "../../../src/learning/target-policies.js";

const decision = (team: string, extra: Partial<LoggedDecision> = {}): LoggedDecision => ({
  taskType: "web_development",
  complexity: 2,
  team,
  propensity: 0.6,
  success: true,
  durationSeconds: 60,
  loggingProbabilities: new Map([
    ["A", 0.6],
    ["B", 0.3],
  ]),
  floorPropensity: 0.01,
  candidateCount: 10,
  greedyTeam: "A",
  ...extra,
});

const choice = {
  probabilities: new Map([
    ["B", 0.7],
    ["C", 0.2],
  ]),
  floor: 0.0125,
};

describe("shadowPolicy", () => {
  it("gives the logged team the challenger's probability of it, and the floor when it did not list it", () => {
    const policy = shadowPolicy(() => choice);
    expect(policy.terms(decision("B"), "success")?.targetProbability).toBe(0.7);
    expect(policy.terms(decision("A"), "success")?.targetProbability).toBe(0.0125);
  });

  it("is not defined on decisions the challenger was not scored on", () => {
    expect(shadowPolicy(() => undefined).terms(decision("A"), "success")).toBeUndefined();
  });

  it("counts as supported its mass on teams the champion could choose: all of it above a floor, only the listed ones without", () => {
    const policy = shadowPolicy(() => choice);
    expect(policy.terms(decision("A"), "success")?.supportedMass).toBeCloseTo(1, 12);
    // Without a floor the champion could choose only A and B: the challenger's 0.7 on B.
    expect(policy.terms(decision("A", { floorPropensity: 0 }), "success")?.supportedMass).toBeCloseTo(0.7, 12);
  });

  it("values the direct method over the listed teams, renormalised to their mass", () => {
    const model = (_: LoggedDecision, team: string) => ({ A: 0.5, B: 0.9, C: 0.1 })[team] ?? 0;
    const terms = shadowPolicy(() => choice).terms(decision("A"), "success", model);
    expect(terms?.modelLogged).toBe(0.5);
    expect(terms?.modelTarget).toBeCloseTo((0.7 * 0.9 + 0.2 * 0.1) / 0.9, 12);
  });
});

describe("selfNormalizedFromSums", () => {
  it("equals off-policy.ts's self-normalised IPS and its interval on the same decisions", () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({
      reward: i % 3 === 0 ? 0 : 1,
      propensity: [0.9, 0.05, 0.5][i % 3]!,
      targetProbability: [0.7, 0.2, 0.5][(i % 5) % 3]!,
      supportedMass: 1,
    }));
    const expected = evaluatePolicy(rows, "probability").selfNormalized;
    const w = rows.map((r) => r.targetProbability / r.propensity);
    const sums = {
      n: rows.length,
      weightSum: w.reduce((a, b) => a + b, 0),
      weightedSuccesses: rows.reduce((a, r, i) => a + w[i]! * r.reward, 0),
      weightSqSum: w.reduce((a, b) => a + b * b, 0),
      weightSqSuccesses: rows.reduce((a, r, i) => a + w[i]! * w[i]! * r.reward, 0),
    };
    const got = selfNormalizedFromSums(sums, normalQuantile(0.975));
    expect(got?.value).toBeCloseTo(expected.value, 12);
    expect(got?.lower).toBeCloseTo(expected.lower, 10);
    expect(got?.upper).toBeCloseTo(expected.upper, 10);
  });

  it("says nothing without weight", () => {
    expect(
      selfNormalizedFromSums({ n: 0, weightSum: 0, weightedSuccesses: 0, weightSqSum: 0, weightSqSuccesses: 0 }, 1.96),
    ).toBeUndefined();
  });
});
