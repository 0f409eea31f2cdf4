import { describe, expect, it } from "vitest";
import { PolicyVerdict } from "../../../gen/agentlearning/v1/evaluation_pb.js";
import { evaluatePolicy } from "../../../src/learning/off-policy.js";
import type { PolicyEvaluation } from "../../../src/learning/policy-evaluation.js";
import { explain, policyEvaluationToProto } from "../../../src/service/evaluation-mapping.js";

const evaluation = (name: string, rewards: number[], target: (i: number) => number, supported = 1): PolicyEvaluation => {
  const terms = rewards.map((reward, i) => ({
    reward,
    propensity: 0.5,
    targetProbability: target(i),
    supportedMass: supported,
    modelLogged: 0.5,
    modelTarget: 0.5,
  }));
  const value = evaluatePolicy(terms, "probability");
  return { name, description: "", success: value, duration: value };
};

describe("what EvaluatePolicies says about a policy", () => {
  it("says the data cannot tell when there are no decisions", () => {
    expect(explain(evaluation("greedy", [], () => 1))).toBe("no followed decisions to evaluate on: the data cannot tell");
  });

  it("says the data cannot tell when the support is low, with the share", () => {
    expect(explain(evaluation("greedy", Array(100).fill(1), () => 1, 0.5))).toBe(
      "only 50.0% of this policy's choices were teams the logging policy could pick: the outcomes of the others are unseen, so the data cannot tell",
    );
  });

  it("says a policy is better than the logging policy only when the paired interval is above 0", () => {
    // The policy picks exactly the successful decisions' teams: all its weight is on successes.
    const rewards = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const better = evaluation("greedy", rewards, (i) => (i % 2 === 0 ? 1 : 0));
    expect(explain(better)).toMatch(/^success 100\.0% .* better than the logging policy by/);
    const same = evaluation("greedy", rewards, () => 0.5);
    expect(explain(same)).toMatch(/not distinguishable from the logging policy/);
  });

  it("maps the verdict and counts onto the proto", () => {
    const message = policyEvaluationToProto(evaluation("greedy", [1, 0, 1], () => 1));
    expect(message.verdict).toBe(PolicyVerdict.TOO_FEW);
    expect(message.decisionCount).toBe(3n);
    expect(message.success?.doublyRobust?.interval?.level).toBe(0.95);
  });
});
