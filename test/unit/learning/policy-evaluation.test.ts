import { describe, expect, it } from "vitest";
import {
  CALLER_POLICY,
  evaluatePolicies,
  LOGGED_GREEDY_POLICY,
  LOGGING_POLICY,
  pickPolicy,
} from "../../../src/learning/policy-evaluation.js";
import type { LoggedDecision } from "../../../src/learning/target-policies.js";

const decision = (team: string, propensity: number, success: boolean, callerTeam?: string): LoggedDecision => ({
  taskType: "bug_fix",
  complexity: 2,
  team,
  propensity,
  success,
  durationSeconds: success ? 100 : 300,
  loggingProbabilities: new Map([
    ["A", 0.75],
    ["B", 0.25],
  ]),
  candidateCount: 2,
  greedyTeam: "A",
  ...(callerTeam ? { callerTeam } : {}),
});

const log = [decision("A", 0.75, true, "B"), decision("B", 0.25, false), decision("A", 0.75, false, "A"), decision("B", 0.25, true)];
const models = { success: () => 0.5, duration: () => 200 };

describe("evaluatePolicies", () => {
  it("judges each policy on success and duration, in the order given", () => {
    const [logging, greedy] = evaluatePolicies(log, [LOGGING_POLICY, LOGGED_GREEDY_POLICY], models);
    expect(logging?.success.ips.value).toBeCloseTo(0.5, 12);
    expect(logging?.duration.ips.value).toBeCloseTo(200, 12);
    // greedy "A": weights 4/3 on the two A decisions (1 success): IPS (4/3) / 4
    expect(greedy?.name).toBe("greedy");
    expect(greedy?.success.ips.value).toBeCloseTo(1 / 3, 12);
    expect(greedy?.duration.ips.value).toBeCloseTo(((4 / 3) * 400) / 4, 9);
  });

  it("judges the caller's default only where the caller offered one", () => {
    const [caller] = evaluatePolicies(log, [CALLER_POLICY], models);
    expect(caller?.success.decisions).toBe(2);
    // caller B on decision 1 (logged A: weight 0), caller A on decision 3 (weight 4/3, failure)
    expect(caller?.success.matched).toBe(1);
  });

  it("leaves out the decisions where a pick policy names no team", () => {
    const [some] = evaluatePolicies(log, [pickPolicy("some", "", (d) => (d.success ? "B" : undefined))], models);
    expect(some?.success.decisions).toBe(2);
  });
});
