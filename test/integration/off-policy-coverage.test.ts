// Pure (no database), but 20 seeded loops take about 40 s: it runs with the integration files, so
// `npm run test:unit` stays quick.
// Issue 10 item 5: off-policy estimates held to the simulator's truth. A recommendation loop runs
// the service's own statistical recommender with exploration in the synthetic world and credits
// every outcome; the greedy policies are then evaluated on the log and their true value computed
// from the world's success probabilities, over the same decisions' contexts.
import { describe, expect, it } from "vitest";
import { teamKey } from "../../src/domain/team.js";
import type { PolicyValue } from "../../src/learning/off-policy.js";
import { evaluatePolicies, LOGGED_GREEDY_POLICY, pickPolicy } from "../../src/learning/policy-evaluation.js";
import { recommend } from "../../src/learning/recommend.js";
import { statisticalRewardModels } from "../../src/learning/reward-models.js";
import type { LoggedDecision } from "../../src/learning/target-policies.js";
import { loopRequest, type PolicyLoopResult, runPolicyLoop } from "../../src/sim/policy-loop.js";

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
const LOOP = { history: 1000, decisions: 2000, explorationRate: 0.3, refreshEvery: 100 };

/** The world's mean success probability of the team `pick` names, over the logged decisions' contexts. */
function truth(loop: PolicyLoopResult, pick: (d: LoggedDecision) => string): number {
  const sum = loop.decisions.reduce((s, d) => s + loop.world.successProbability(d.taskType, pick(d).split(","), d.complexity), 0);
  return sum / loop.decisions.length;
}

interface SeedResult {
  seed: number;
  policy: string;
  truth: number;
  value: PolicyValue;
}

function runSeed(seed: number): SeedResult[] {
  const loop = runPolicyLoop({ seed, ...LOOP });
  // The greedy statistical pick of the evidence the loop ended with: a fixed policy one could deploy now.
  const now = new Map(
    loop.world.taskTypes.map((t) => [t, teamKey(recommend(loop.finalEvidence(t), loopRequest(0), Math.random).recommendations[0]!.agents)]),
  );
  const greedyNow = pickPolicy("greedy-now", "the final evidence's greedy team", (d) => now.get(d.taskType));
  const evaluations = evaluatePolicies(loop.decisions, [LOGGED_GREEDY_POLICY, greedyNow], statisticalRewardModels(loop.finalEvidence));
  return [
    { seed, policy: "greedy", truth: truth(loop, (d) => d.greedyTeam), value: evaluations[0]!.success },
    { seed, policy: "greedy-now", truth: truth(loop, (d) => now.get(d.taskType)!), value: evaluations[1]!.success },
  ];
}

const covers = (r: SeedResult, e: "ips" | "selfNormalized" | "doublyRobust") => {
  const estimate = r.value[e]!;
  return estimate.lower <= r.truth && r.truth <= estimate.upper;
};

describe("off-policy evaluation against the simulator's truth", () => {
  const results = SEEDS.flatMap(runSeed);
  const table = results.map((r) => ({
    seed: r.seed,
    policy: r.policy,
    truth: r.truth.toFixed(4),
    dr: `${r.value.doublyRobust!.value.toFixed(4)} [${r.value.doublyRobust!.lower.toFixed(4)}, ${r.value.doublyRobust!.upper.toFixed(4)}]`,
    ips: `${r.value.ips.value.toFixed(4)} [${r.value.ips.lower.toFixed(4)}, ${r.value.ips.upper.toFixed(4)}]`,
    ess: Math.round(r.value.effectiveSampleSize),
    verdict: r.value.verdict,
  }));
  console.table(table);

  for (const policy of ["greedy", "greedy-now"]) {
    const mine = results.filter((r) => r.policy === policy);
    it(`the doubly robust 95% intervals of the ${policy} policy cover its true value in at least 17 of 20 seeds`, () => {
      const covered = mine.filter((r) => covers(r, "doublyRobust")).length;
      console.log(
        `${policy}: DR covers ${covered}/20, IPS ${mine.filter((r) => covers(r, "ips")).length}/20, SNIPS ${mine.filter((r) => covers(r, "selfNormalized")).length}/20`,
      );
      expect(covered).toBeGreaterThanOrEqual(17);
    });
  }

  it("every evaluation of the logged greedy policy is trusted by its verdict (enough weight, full support)", () => {
    const greedy = results.filter((r) => r.policy === "greedy");
    expect(greedy.map((r) => r.value.verdict)).toEqual(greedy.map(() => "ok"));
  });
});
