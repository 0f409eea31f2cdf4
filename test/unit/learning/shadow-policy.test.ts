import { describe, expect, it } from "vitest";
import { shadowPolicy } from "../../../src/learning/shadow-policy.js";
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
