import { describe, expect, it } from "vitest";
import { sampleBeta } from "../../../src/learning/beta.js";
import type { CatalogAgent, CombinationEvidence, TaskEvidence } from "../../../src/learning/evidence.js";
import { drawFirst, firstPickProbabilities, propensityFloor, UNIFORM_SHARE } from "../../../src/learning/first-pick.js";
import { RecommendMemo, type RecommendRequest } from "../../../src/learning/ranking.js";
import { recommend } from "../../../src/learning/recommend.js";
import { createRng } from "../../../src/sim/random.js";
import { noSums, plus, team } from "../../support/evidence.js";

const catalog: CatalogAgent[] = ["A", "B", "C", "D", "E", "F"].map((name) => ({
  name,
  category: "core",
  capabilities: ["implementation"],
}));

function world(combinations: CombinationEvidence[]): TaskEvidence {
  const names = [...new Set(combinations.flatMap((c) => c.agents))];
  return {
    taskType: "web_development",
    task: combinations.reduce(plus, noSums),
    combinations,
    agents: names.map((agent) => ({ agent, ...combinations.filter((c) => c.agents.includes(agent)).reduce(plus, noSums) })),
    catalog,
    asOfMs: 0,
  };
}

// Two contexts with different evidence, so propensities differ from call to call.
const contexts = [
  world([
    team(["A"], 40, 28),
    team(["B"], 30, 20),
    team(["A", "B"], 12, 8),
    team(["C"], 6, 4),
    team(["D", "E"], 50, 20),
    team(["F"], 3, 3),
  ]),
  world([team(["A"], 200, 150), team(["C", "D"], 25, 20), team(["E"], 8, 5), team(["B", "F"], 60, 30)]),
];

const request: RecommendRequest = {
  complexity: 2,
  maxRecommendations: 256,
  requiredAgents: [],
  excludedAgents: [],
  maxAgents: 0,
  successWeight: 0.8,
  explorationRate: 0.3,
};
const key = (agents: readonly string[]) => [...agents].sort().join(",");

/** Per team: how often it went first, and the sums of its logged propensities p and of p(1 − p). */
interface Tally {
  firsts: number;
  p: number;
  variance: number;
}

/**
 * |first picks − Σ logged p| within 4 standard errors: the indicator of going first in call t has
 * mean p_t and variance p_t(1 − p_t), independently across calls, so the difference has standard
 * error √Σ p_t(1 − p_t).
 */
function expectWithinFourSe(tallies: Map<string, Tally>): void {
  for (const [team, t] of tallies) {
    expect(Math.abs(t.firsts - t.p), `${team}: ${t.firsts} first against Σp = ${t.p.toFixed(1)}`).toBeLessThanOrEqual(
      4 * Math.sqrt(t.variance),
    );
  }
}

describe("first-pick policy", () => {
  it("gives every candidate at least the floor ε · 0.1 / n, the greedy best 1 − ε more, and sums to 1", () => {
    const thompson = [0.5, 0.3, 0.2, 0, 0];
    const pi = firstPickProbabilities(thompson, 0.3);
    const floor = propensityFloor(0.3, 5);
    expect(floor).toBeCloseTo((0.3 * UNIFORM_SHARE) / 5, 15);
    for (const p of pi) expect(p).toBeGreaterThanOrEqual(floor);
    expect(pi[0]).toBeCloseTo(0.7 + floor + 0.3 * 0.9 * 0.5, 12);
    expect(pi[3]).toBeCloseTo(floor, 15);
    expect(pi.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
  });

  it("with ε = 0 gives the greedy best propensity 1 and draws nothing", () => {
    const pi = firstPickProbabilities([0.6, 0.4], 0);
    expect([...pi]).toEqual([1, 0]);
    expect(drawFirst(pi, () => Number.NaN)).toBe(0);
  });

  it("over 6,000 draws with a seeded random puts each team first as often as π says, within 4 standard errors", () => {
    const rng = createRng(3);
    const tallies = new Map<string, Tally>();
    for (let call = 0; call < 6000; call++) {
      // A different π each call: ε and the Thompson shares vary.
      const epsilon = [0.05, 0.3, 1][call % 3]!;
      const raw = [3, 2, 1 + (call % 5), 0.5, 0];
      const total = raw.reduce((s, x) => s + x, 0);
      const pi = firstPickProbabilities(
        raw.map((x) => x / total),
        epsilon,
      );
      const first = drawFirst(pi, rng.next);
      pi.forEach((p, i) => {
        const t = tallies.get(String(i)) ?? { firsts: 0, p: 0, variance: 0 };
        tallies.set(String(i), { firsts: t.firsts + (i === first ? 1 : 0), p: t.p + p, variance: t.variance + p * (1 - p) });
      });
    }
    expectWithinFourSe(tallies);
  });

  it("over 6,000 PredictAgents rankings, each team goes first as often as its mean logged propensity, within 4 standard errors", () => {
    const rng = createRng(11);
    const tallies = new Map<string, Tally>();
    // One memo for every call, as the service keeps one: the ranking and its Thompson win
    // probabilities are built once per snapshot and request shape, the first team drawn per call.
    const memo = new RecommendMemo();
    for (let call = 0; call < 6000; call++) {
      const evidence = contexts[call % 2]!;
      const answer = recommend(evidence, { ...request, explorationRate: call % 4 === 0 ? 1 : 0.3 }, rng.next, undefined, memo);
      const first = key(answer.recommendations[0]!.agents);
      for (const r of answer.recommendations) {
        const name = `${call % 2}:${key(r.agents)}`;
        const t = tallies.get(name) ?? { firsts: 0, p: 0, variance: 0 };
        tallies.set(name, {
          firsts: t.firsts + (key(r.agents) === first ? 1 : 0),
          p: t.p + r.propensity,
          variance: t.variance + r.propensity * (1 - r.propensity),
        });
      }
    }
    expect(tallies.size).toBeGreaterThan(10);
    expectWithinFourSe(tallies);
  });

  it("logs what the policy described does: greedy 1 − ε, else a tenth uniform and nine tenths real Thompson draws", () => {
    // The policy simulated independently of the quadrature: Beta draws with sampleBeta.
    const evidence = contexts[0]!;
    const explore = { ...request, explorationRate: 0.5 };
    const answer = recommend(evidence, explore, createRng(1).next);
    const logged = new Map(answer.recommendations.map((r) => [key(r.agents), r.propensity]));
    const teams = answer.recommendations.map((r) => r);
    expect(teams).toHaveLength(answer.firstPick!.candidateCount);
    const greedy = key(answer.firstPick!.greedy);
    const contenders = new Set(answer.firstPick!.top.map((t) => key(t.agents)));
    const reference = typicalSpeed(teams);
    const rng = createRng(5);
    const draws = 40_000;
    const counts = new Map<string, number>();
    for (let d = 0; d < draws; d++) {
      let pick: string;
      const u = rng.next();
      if (u >= 0.5) pick = greedy;
      else if (u < 0.5 * UNIFORM_SHARE) pick = key(teams[Math.floor(rng.next() * teams.length)]!.agents);
      else {
        let top = Number.NEGATIVE_INFINITY;
        pick = greedy;
        for (const r of teams) {
          if (!contenders.has(key(r.agents))) continue;
          const score = explore.successWeight * sampleBeta(r.posterior, rng.next) + (1 - explore.successWeight) * reference(r);
          if (score > top) [top, pick] = [score, key(r.agents)];
        }
      }
      counts.set(pick, (counts.get(pick) ?? 0) + 1);
    }
    for (const [team, p] of logged) {
      const se = Math.sqrt((p * (1 - p)) / draws);
      expect(Math.abs((counts.get(team) ?? 0) / draws - p), team).toBeLessThanOrEqual(4 * se);
    }
  });
});

/** A team's speed term as recommend computes it: its score minus w · its ranking probability. */
function typicalSpeed(teams: readonly { score: number; successProbability: number; rankingProbability?: number }[]) {
  return (r: (typeof teams)[number]) =>
    (r.score - request.successWeight * (r.rankingProbability ?? r.successProbability)) / (1 - request.successWeight);
}
