import { describe, expect, it } from "vitest";
import { estimateCombination } from "../../../src/learning/estimate.js";
import type { CombinationEvidence, TaskEvidence } from "../../../src/learning/evidence.js";
import { noSums, plus, team } from "../../support/evidence.js";

/** The evidence of a task type whose history is exactly these teams (task and agent sums derived from them). */
function world(combinations: CombinationEvidence[]): TaskEvidence {
  const names = [...new Set(combinations.flatMap((c) => c.agents))];
  return {
    taskType: "web_development",
    task: combinations.reduce(plus, noSums),
    combinations,
    agents: names.map((agent) => ({ agent, ...combinations.filter((c) => c.agents.includes(agent)).reduce(plus, noSums) })),
    catalog: [],
    asOfMs: 0,
  };
}

describe("estimateCombination", () => {
  it("confidence grows as a team's record grows", () => {
    const confidences = [6, 60, 600].map((n) => estimateCombination(world([team(["A", "B"], n, (5 * n) / 6)]), ["A", "B"]).confidence);
    expect(confidences[0]!).toBeLessThan(confidences[1]!);
    expect(confidences[1]!).toBeLessThan(confidences[2]!);
    for (const c of confidences) expect(c).toBeGreaterThanOrEqual(0);
    expect(confidences[2]!).toBeLessThanOrEqual(1);
  });

  it("intervals contain the estimate and lie in [0, 1]", () => {
    const evidence = world([team(["A", "B"], 40, 30, 90), team(["A", "C"], 3, 1, 20), team(["C", "D"], 1, 1, 600)]);
    for (const agents of [["A", "B"], ["A", "C"], ["C", "D"], ["B", "D"], ["E"]]) {
      const e = estimateCombination(evidence, agents);
      expect(e.successInterval.lower).toBeGreaterThanOrEqual(0);
      expect(e.successInterval.upper).toBeLessThanOrEqual(1);
      expect(e.successInterval.lower).toBeLessThanOrEqual(e.successProbability);
      expect(e.successProbability).toBeLessThanOrEqual(e.successInterval.upper);
      expect(e.successInterval.level).toBe(0.9);
      expect(e.durationInterval.lower).toBeGreaterThanOrEqual(0);
      expect(e.durationInterval.lower).toBeLessThanOrEqual(e.expectedDurationSeconds);
      expect(e.expectedDurationSeconds).toBeLessThanOrEqual(e.durationInterval.upper);
    }
  });

  it("the requested level widens the interval", () => {
    const evidence = world([team(["A", "B"], 40, 30)]);
    const narrow = estimateCombination(evidence, ["A", "B"], { level: 0.5 });
    const wide = estimateCombination(evidence, ["A", "B"], { level: 0.99 });
    expect(wide.successInterval.upper - wide.successInterval.lower).toBeGreaterThan(
      narrow.successInterval.upper - narrow.successInterval.lower,
    );
    expect(wide.durationInterval.upper - wide.durationInterval.lower).toBeGreaterThan(
      narrow.durationInterval.upper - narrow.durationInterval.lower,
    );
  });

  it("a team seen once has its duration shrunk toward the task type's", () => {
    const evidence = world([team(["A", "B"], 100, 80, 60), team(["X", "Y"], 1, 1, 600)]);
    const e = estimateCombination(evidence, ["X", "Y"]);
    const taskLogMean = evidence.task.logDurationSum / evidence.task.executions;
    const estimateLog = Math.log1p(e.expectedDurationSeconds);
    // Pulled from the task's typical duration toward the one run, but most of the way it stays home:
    // one run weighs 1 / (1 + κ_d) = 1/6.
    expect(estimateLog).toBeGreaterThan(taskLogMean);
    expect(Math.abs(estimateLog - taskLogMean)).toBeLessThan(Math.abs(estimateLog - Math.log1p(600)));
    expect(e.sampleSize).toBe(1);
  });

  it("the order agents are given in does not change the estimate", () => {
    const evidence = world([team(["A", "B", "C"], 12, 9), team(["A", "D"], 7, 2)]);
    expect(estimateCombination(evidence, ["C", "A", "B"])).toEqual(estimateCombination(evidence, ["A", "B", "C"]));
  });

  it("a pair inside a team that fails far more than its agents do elsewhere lowers the team's estimate", () => {
    const evidence = world([
      team(["X", "Y"], 20, 2),
      team(["A", "X"], 20, 18),
      team(["A", "Y"], 20, 18),
      team(["A", "Z"], 20, 18),
      team(["B", "Z"], 20, 2),
      team(["A", "C"], 20, 15),
    ]);
    // Y and Z have the same record (20/40); only Y is half of a failing pair with X.
    const withPair = estimateCombination(evidence, ["C", "X", "Y"]);
    const without = estimateCombination(evidence, ["C", "X", "Z"]);
    expect(withPair.successProbability).toBeLessThan(without.successProbability - 0.1);
    expect(withPair.rationale).toContain("X+Y");
  });

  it("pairs that do as well as their agents do elsewhere do not lower the team", () => {
    const evidence = world([team(["A", "B"], 20, 15), team(["A", "C"], 20, 15), team(["B", "C"], 20, 15)]);
    const e = estimateCombination(evidence, ["A", "B", "C"]);
    expect(e.rationale).not.toContain("lowered");
    expect(e.successProbability).toBeCloseTo(estimateCombination(evidence, ["A"]).successProbability, 6);
  });

  it("a task type with no executions gives a catalog estimate with unknown duration and low confidence", () => {
    const e = estimateCombination(world([]), ["A", "B"]);
    expect(e.source).toBe("catalog");
    expect(e.successProbability).toBeCloseTo(0.5, 12);
    expect(e.confidence).toBeLessThan(0.3);
    expect(e.expectedDurationSeconds).toBe(0);
    expect(e.durationInterval).toEqual({ lower: 0, upper: 0, level: 0.9 });
    expect(e.rationale).toContain("duration unknown");
  });
});
