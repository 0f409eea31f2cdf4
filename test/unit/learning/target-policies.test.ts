import { describe, expect, it } from "vitest";
import {
  deterministicTerms,
  distributionTerms,
  type LoggedDecision,
  loggingTerms,
  uniformTerms,
} from "../../../src/learning/target-policies.js";

const decision: LoggedDecision = {
  taskType: "bug_fix",
  complexity: 2,
  team: "A+B",
  propensity: 0.25,
  success: true,
  durationSeconds: 120,
  loggingProbabilities: new Map([
    ["A+B", 0.25],
    ["C", 0.75],
  ]),
  candidateCount: 4,
  candidates: ["A+B", "C", "D", "E"],
  greedyTeam: "C",
};
const model = (_: LoggedDecision, team: string) => ({ "A+B": 0.6, C: 0.8, D: 0.2, E: 0.4 })[team] ?? 0;

describe("target policies", () => {
  it("the logging policy weighs every decision 1 and needs no model", () => {
    const t = loggingTerms(decision, "duration");
    expect(t.targetProbability / t.propensity).toBe(1);
    expect(t.reward).toBe(120);
  });

  it("a deterministic policy that picks the logged team has probability 1 for it and the model's value there", () => {
    expect(deterministicTerms(decision, "A+B", "success", model)).toEqual({
      reward: 1,
      propensity: 0.25,
      targetProbability: 1,
      supportedMass: 1,
      modelLogged: 0.6,
      modelTarget: 0.6,
    });
  });

  it("a deterministic policy that picks a team the logging policy never logged here has no support", () => {
    const t = deterministicTerms(decision, "D", "success", model);
    expect(t.targetProbability).toBe(0);
    expect(t.supportedMass).toBe(0);
    expect(t.modelTarget).toBe(0.2);
  });

  it("a distribution's support is its probability on logged teams, and its model value the weighted mean", () => {
    const t = distributionTerms(
      decision,
      [
        { team: "A+B", probability: 0.5 },
        { team: "D", probability: 0.5 },
      ],
      "success",
      model,
    );
    expect(t.targetProbability).toBe(0.5);
    expect(t.supportedMass).toBe(0.5);
    expect(t.modelTarget).toBeCloseTo(0.4, 12);
  });

  it("the uniform policy gives 1/K to the logged team and averages the model over the candidates", () => {
    const t = uniformTerms(decision, "success", model);
    expect(t.targetProbability).toBe(0.25);
    expect(t.supportedMass).toBe(0.5);
    expect(t.modelTarget).toBeCloseTo(0.5, 12);
  });

  it("the uniform policy has no direct-method term when the candidates are not known", () => {
    const { candidates: _, ...withoutCandidates } = decision;
    const t = uniformTerms(withoutCandidates, "success", model);
    expect(t.modelTarget).toBeUndefined();
    expect(t.supportedMass).toBe(0.5);
  });
});

describe("target policies over a log with a propensity floor", () => {
  const { candidates: _, ...rest } = decision;
  const floored: LoggedDecision = { ...rest, floorPropensity: 0.01 };

  it("a team not logged among the top teams has the floor's probability, so it is supported", () => {
    const t = deterministicTerms(floored, "D", "success");
    expect(t.supportedMass).toBe(1);
    expect(t.targetProbability).toBe(0);
  });

  it("every candidate of the uniform policy is supported", () => {
    expect(uniformTerms(floored, "success").supportedMass).toBe(1);
  });
});
