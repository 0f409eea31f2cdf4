import { describe, expect, it } from "vitest";
import type { CatalogAgent, CombinationEvidence, TaskEvidence } from "../../../src/learning/evidence.js";
import { RecommendMemo, type RecommendRequest } from "../../../src/learning/ranking.js";
import { prepareRanking, recommend, type Recommended } from "../../../src/learning/recommend.js";
import { createRng } from "../../../src/sim/random.js";
import { noSums, plus, team } from "../../support/evidence.js";

const catalog: CatalogAgent[] = [
  { name: "ARCHITECT", category: "strategic", capabilities: ["architecture", "planning", "coordination"] },
  { name: "LEADENGINEER", category: "orchestration", capabilities: ["team_coordination", "code_review"] },
  { name: "CONSTRUCTOR", category: "core", capabilities: ["implementation", "debugging", "refactoring"] },
  { name: "DATABASE", category: "database", capabilities: ["schema_design", "query_optimization", "data_migration"] },
  { name: "WEB", category: "specialized", capabilities: ["integration", "platform_specific"] },
  { name: "BASTION", category: "security", capabilities: ["security_review", "threat_modeling", "hardening"] },
  { name: "CSO", category: "security", capabilities: ["security_review", "threat_modeling", "hardening"] },
  { name: "SECURITYAUDITOR", category: "security", capabilities: ["security_review", "threat_modeling", "hardening"] },
  { name: "CRYPTOEXPERT", category: "security", capabilities: ["security_review", "threat_modeling", "hardening"] },
  { name: "QADIRECTOR", category: "testbed", capabilities: ["testing", "quality_assurance"] },
  { name: "DOCGEN", category: "docs", capabilities: ["documentation"] },
];
const categoryOf = new Map(catalog.map((a) => [a.name, a.category]));

/** The evidence of a task type whose history is exactly these teams (task and agent sums derived from them). */
function world(combinations: CombinationEvidence[], taskType = "web_development"): TaskEvidence {
  const names = [...new Set(combinations.flatMap((c) => c.agents))];
  return {
    taskType,
    task: combinations.reduce(plus, noSums),
    combinations,
    agents: names.map((agent) => ({ agent, ...combinations.filter((c) => c.agents.includes(agent)).reduce(plus, noSums) })),
    catalog,
    asOfMs: 0,
  };
}

const request: RecommendRequest = {
  complexity: 2,
  maxRecommendations: 256,
  requiredAgents: [],
  excludedAgents: [],
  maxAgents: 0,
  successWeight: 1,
  explorationRate: 0,
};

const never = (): number => {
  throw new Error("no random draw expected");
};

const key = (agents: readonly string[]) => [...agents].sort().join(",");
const rankOf = (recommendations: Recommended[], agents: string[]) => recommendations.findIndex((r) => key(r.agents) === key(agents));

// Y and Z have the same overall record (20/40); only Y belongs to the failing pair X+Y.
const pairWorld = world([
  team(["X", "Y"], 20, 2),
  team(["A", "X"], 20, 18),
  team(["A", "Y"], 20, 18),
  team(["A", "Z"], 20, 18),
  team(["B", "Z"], 20, 2),
  team(["A", "C"], 20, 15),
]);

describe("recommend", () => {
  it("a team seen twice at 2/2 ranks below one seen 200 times at 190/200", () => {
    const evidence = world([team(["A", "B"], 200, 190), team(["C", "D"], 2, 2), team(["E", "F"], 100, 70)]);
    const { recommendations } = recommend(evidence, request, never);
    const proven = recommendations[rankOf(recommendations, ["A", "B"])]!;
    const lucky = recommendations[rankOf(recommendations, ["C", "D"])]!;
    expect(rankOf(recommendations, ["A", "B"])).toBeLessThan(rankOf(recommendations, ["C", "D"]));
    expect(proven.successProbability).toBeGreaterThan(lucky.successProbability);
    expect(proven.confidence).toBeGreaterThan(lucky.confidence);
    expect(lucky.sampleSize).toBe(2);
  });

  it("an untried team containing a known-bad pair ranks below an untried team without it", () => {
    const { recommendations } = recommend(pairWorld, request, never);
    const withPair = rankOf(recommendations, ["C", "X", "Y"]);
    const without = rankOf(recommendations, ["C", "X", "Z"]);
    expect(withPair).toBeGreaterThanOrEqual(0);
    expect(without).toBeGreaterThanOrEqual(0);
    expect(without).toBeLessThan(withPair);
    expect(recommendations[withPair]!.sampleSize).toBe(0);
  });

  it("every team honours required agents, excluded agents and maxAgents", () => {
    const constraints = { requiredAgents: ["A"], excludedAgents: ["X"], maxAgents: 2 };
    const { recommendations } = recommend(pairWorld, { ...request, ...constraints }, never);
    expect(recommendations.length).toBeGreaterThan(0);
    for (const r of recommendations) {
      expect(r.agents).toContain("A");
      expect(r.agents).not.toContain("X");
      expect(r.agents.length).toBeLessThanOrEqual(2);
    }
  });

  it("on cold start every team honours the constraints too", () => {
    const constraints = { requiredAgents: ["LEADENGINEER"], excludedAgents: ["SECURITYAUDITOR"], maxAgents: 2 };
    const { recommendations, coldStart } = recommend(world([], "security_audit"), { ...request, ...constraints }, never);
    expect(coldStart).toBe(true);
    expect(recommendations.length).toBeGreaterThan(0);
    for (const r of recommendations) {
      expect(r.agents).toContain("LEADENGINEER");
      expect(r.agents).not.toContain("SECURITYAUDITOR");
      expect(r.agents.length).toBeLessThanOrEqual(2);
    }
    expect(categoryOf.get(recommendations[0]!.agents.find((a) => a !== "LEADENGINEER")!)).toBe("security");
  });

  it("cold start answers from the catalog's best match for the task type, with low confidence", () => {
    const { recommendations, coldStart } = recommend(world([], "security_audit"), { ...request, maxRecommendations: 3 }, never);
    expect(coldStart).toBe(true);
    expect(recommendations).toHaveLength(3);
    expect(recommendations[0]!.agents.length).toBeGreaterThanOrEqual(2);
    expect(recommendations[0]!.agents.length).toBeLessThanOrEqual(3);
    expect(recommendations[0]!.agents.every((a) => categoryOf.get(a) === "security")).toBe(true);
    for (const r of recommendations) {
      expect(r.source).toBe("catalog");
      expect(r.confidence).toBeLessThan(0.3);
      expect(r.expectedDurationSeconds).toBe(0);
    }
  });

  it("with no exploration the answer is deterministic and the greedy best has propensity 1", () => {
    const first = recommend(pairWorld, request, never);
    const second = recommend(pairWorld, request, never);
    expect(second).toEqual(first);
    expect(first.recommendations[0]!.propensity).toBe(1);
    expect(first.recommendations[0]!.exploratory).toBe(false);
    for (const r of first.recommendations.slice(1)) expect(r.propensity).toBe(0);
  });

  it("with full exploration, propensities are the same exact figures in every call, sum to 1 and match how often each team is put first", () => {
    const evidence = world([team(["A"], 10, 6), team(["B"], 10, 5), team(["A", "B"], 8, 4)]);
    const explore = { ...request, explorationRate: 1 };
    const rng = createRng(7);
    const calls = 4000;
    const firsts = new Map<string, number>();
    const logged = new Map<string, number>();
    for (let i = 0; i < calls; i++) {
      const { recommendations } = recommend(evidence, explore, rng.next);
      expect(recommendations).toHaveLength(3);
      expect(recommendations.reduce((sum, r) => sum + r.propensity, 0)).toBeCloseTo(1, 9);
      const top = key(recommendations[0]!.agents);
      firsts.set(top, (firsts.get(top) ?? 0) + 1);
      // Exact, not re-estimated: every call of one snapshot logs the same propensity for a team.
      for (const r of recommendations) {
        const before = logged.get(key(r.agents));
        if (before !== undefined) expect(r.propensity).toBe(before);
        logged.set(key(r.agents), r.propensity);
      }
    }
    expect(logged.size).toBe(3);
    // The share of `calls` independent first picks has standard error √(p(1 − p)/calls).
    for (const [team, p] of logged) {
      expect(p).toBeGreaterThanOrEqual(0.1 / 3);
      const se = Math.sqrt((p * (1 - p)) / calls);
      expect(Math.abs((firsts.get(team) ?? 0) / calls - p), team).toBeLessThan(4 * se);
    }
  });

  it("success weight 0 ranks a faster, slightly worse team above the more successful one, and weight 1 the reverse", () => {
    const evidence = world([team(["A", "B"], 100, 80, 100), team(["C", "D"], 100, 75, 30)]);
    const bySpeed = recommend(evidence, { ...request, successWeight: 0 }, never).recommendations;
    const bySuccess = recommend(evidence, { ...request, successWeight: 1 }, never).recommendations;
    expect(rankOf(bySpeed, ["C", "D"])).toBeLessThan(rankOf(bySpeed, ["A", "B"]));
    expect(rankOf(bySuccess, ["A", "B"])).toBeLessThan(rankOf(bySuccess, ["C", "D"]));
  });

  it("agents come in the team's most successful recorded order, else in catalog stage order", () => {
    const recorded = {
      ...team(["WEB", "CONSTRUCTOR"], 30, 24),
      orders: [
        { agents: ["CONSTRUCTOR", "WEB"], executions: 20, successes: 14 },
        { agents: ["WEB", "CONSTRUCTOR"], executions: 10, successes: 10 },
      ],
    };
    const evidence = world([recorded, team(["DOCGEN", "QADIRECTOR", "SECURITYAUDITOR", "CONSTRUCTOR", "LEADENGINEER"], 10, 8)]);
    const { recommendations } = recommend(evidence, request, never);
    expect(recommendations[rankOf(recommendations, ["WEB", "CONSTRUCTOR"])]!.agents).toEqual(["WEB", "CONSTRUCTOR"]);
    expect(
      recommendations[rankOf(recommendations, ["DOCGEN", "QADIRECTOR", "SECURITYAUDITOR", "CONSTRUCTOR", "LEADENGINEER"])]!.agents,
    ).toEqual(["LEADENGINEER", "CONSTRUCTOR", "SECURITYAUDITOR", "QADIRECTOR", "DOCGEN"]);
  });
});

describe("prepareRanking", () => {
  const draws = (seed: number) => {
    const rng = createRng(seed);
    return () => rng.next();
  };
  const exploring = { ...request, explorationRate: 0.3, maxRecommendations: 5 };

  it("builds the ranking in the memo: a later recommend with the same estimates only draws", () => {
    const memo = new RecommendMemo();
    prepareRanking(pairWorld, exploring, { key: "v1", estimate: (_i, _team, statistical) => statistical }, memo);
    // Same key: the estimates are the ones the ranking was built with, and must not be asked again.
    const unused = {
      key: "v1",
      estimate: (): never => {
        throw new Error("the ranking was rebuilt");
      },
    };
    expect(recommend(pairWorld, exploring, draws(5), unused, memo)).toEqual(recommend(pairWorld, exploring, draws(5)));
  });
});
