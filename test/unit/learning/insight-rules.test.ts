import { describe, expect, it } from "vitest";
import type { CombinationEvidence, TaskEvidence } from "../../../src/learning/evidence.js";
import { aggregateFindings, recentFindings, type RecentExecution } from "../../../src/learning/insight-rules.js";
import { noSums, plus } from "../../support/evidence.js";

/** A team's sums from a success count and a typical duration (seconds), with a little spread. */
function team(
  agents: string[],
  executions: number,
  successes: number,
  seconds = 60,
  errors: Record<string, number> = {},
): CombinationEvidence {
  const log = Math.log(1 + seconds);
  // Two durations per team (×0.8 and ×1.25 of typical) give it a non-zero variance.
  const a = Math.log(1 + seconds * 0.8);
  const b = Math.log(1 + seconds * 1.25);
  return {
    agents: [...agents].sort(),
    executions,
    successes,
    durationSum: seconds * executions,
    logDurationSum: log * executions,
    logDurationSqSum: ((a * a + b * b) / 2) * executions,
    complexitySum: 2 * executions,
    topErrors: Object.entries(errors).map(([message, occurrences]) => ({ message, occurrences })),
  };
}

function evidence(combinations: CombinationEvidence[]): TaskEvidence {
  const task = combinations.reduce(plus, noSums);
  const agents = [...new Set(combinations.flatMap((c) => c.agents))].map((agent) => ({
    ...combinations.filter((c) => c.agents.includes(agent)).reduce(plus, noSums),
    agent,
  }));
  return { taskType: "web", task, combinations, agents, catalog: [], asOfMs: 0 };
}

const world = evidence([
  team(["ARCHITECT", "CONSTRUCTOR", "TESTBED"], 200, 188),
  team(["CONSTRUCTOR", "DEBUGGER"], 300, 180),
  team(["ARCHITECT", "DEBUGGER"], 200, 118),
  team(["LINTER", "PATCHER", "CONSTRUCTOR"], 150, 20, 60, { "dependency conflict": 120, timeout: 10 }),
  team(["LINTER", "CONSTRUCTOR"], 150, 92),
  team(["PATCHER", "DEBUGGER"], 150, 93),
  // Without this team CONSTRUCTOR+PATCHER would only ever occur inside the failing team, and the
  // data could not tell that pair from LINTER+PATCHER.
  team(["PATCHER", "CONSTRUCTOR", "TESTBED"], 150, 95),
  team(["OPTIMIZER", "DEBUGGER"], 100, 60, 400),
]);

describe("aggregate insight rules", () => {
  const findings = aggregateFindings(world);
  const of = (type: string) => findings.filter((f) => f.type === type);

  it("reports the clearly better team as best_combo with a posterior confidence", () => {
    const best = of("best_combo").map((f) => f.agents.join("+"));
    expect(best[0]).toBe("ARCHITECT+CONSTRUCTOR+TESTBED");
    expect(of("best_combo")[0]!.confidence).toBeGreaterThan(0.99);
  });

  it("reports the failing pair, not each of its agents, with its dominant error", () => {
    const avoid = of("avoid_pattern");
    expect(avoid.map((f) => f.agents.join("+"))).toEqual(["LINTER+PATCHER"]);
    expect(avoid[0]!.data.dominant_error).toBe("dependency conflict");
    expect(of("underperforming_agent").map((f) => f.agents[0])).not.toContain("LINTER");
    expect(of("underperforming_agent").map((f) => f.agents[0])).not.toContain("PATCHER");
  });

  it("blames an agent only against the same teams without it", () => {
    const withLaggard = evidence([
      team(["ARCHITECT", "CONSTRUCTOR"], 200, 150),
      team(["ARCHITECT", "CONSTRUCTOR", "LAGGARD"], 200, 90),
      team(["DEBUGGER", "TESTBED"], 200, 140),
      team(["DEBUGGER", "LAGGARD", "TESTBED"], 200, 70),
      team(["DOCGEN"], 200, 60),
    ]);
    const blamed = aggregateFindings(withLaggard).filter((f) => f.type === "underperforming_agent");
    expect(blamed.map((f) => f.agents[0])).toEqual(["LAGGARD"]);
    // DOCGEN's teams do badly, but there is no same-team comparison to blame DOCGEN for it.
    expect(blamed.map((f) => f.agents[0])).not.toContain("DOCGEN");
  });

  it("reports a team much slower than the task type as a bottleneck", () => {
    expect(of("bottleneck").map((f) => f.agents.join("+"))).toContain("DEBUGGER+OPTIMIZER");
  });

  it("keeps every confidence a probability", () => {
    for (const f of findings) {
      expect(f.confidence).toBeGreaterThanOrEqual(0);
      expect(f.confidence).toBeLessThanOrEqual(1);
    }
  });

  it("reports nothing on too little evidence", () => {
    expect(aggregateFindings(evidence([team(["A", "B"], 3, 3), team(["C"], 1, 0)]))).toEqual([]);
  });

  it("does not call an ordinary team best or bad", () => {
    const keys = findings.filter((f) => f.type === "best_combo" || f.type === "avoid_pattern").map((f) => f.agents.join("+"));
    expect(keys).not.toContain("CONSTRUCTOR+DEBUGGER");
    expect(keys).not.toContain("DEBUGGER+PATCHER");
  });
});

describe("recent-window insight rules", () => {
  const recent = (successes: boolean[]): RecentExecution[] =>
    successes.map((success, i) => ({ executionId: `e${i}`, success, logDuration: Math.log(61) }));

  it("reports a failure burst far outside the historical failure rate", () => {
    const window = recent([...Array(40).fill(false), ...Array(10).fill(true)]);
    const findings = recentFindings(world, window);
    expect(findings.find((f) => f.type === "anomaly")?.data.failures).toBe(40);
  });

  it("stays quiet when the recent window looks like history", () => {
    const typical = recent(Array.from({ length: 200 }, (_, i) => i % 3 !== 0));
    expect(recentFindings(world, typical)).toEqual([]);
  });

  it("reports a falling success rate between the previous and the recent window", () => {
    const window = recent([...Array.from({ length: 100 }, (_, i) => i % 10 !== 0), ...Array.from({ length: 100 }, (_, i) => i % 2 === 0)]);
    const trend = recentFindings(world, window).find((f) => f.type === "trend");
    expect(trend?.data.direction).toBe("falling");
    expect(trend?.confidence).toBeGreaterThan(0.99);
  });
});
