import { beforeAll, describe, expect, it } from "vitest";
import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import { drawHistory, measureRegret, recordHistory, type RegretFigures } from "../../src/sim/learning-quality.js";
import { byKind, ModelStatus, QUIET_MODELS, reportFigures } from "../support/model-fixtures.js";
import { startTestServer } from "../support/server.js";
import { world } from "../support/world-history.js";

// Does the trained model choose teams at least as well as the statistics alone? Judged by regret
// against the world's ground truth: for a task type and a complexity c,
//   regret = P_true(world's best team, c) − P_true(the answer's top team, c),
// the success the caller gives up by following the answer (0 when it names the best team). Both
// answers come from the same server on the same history: the statistical one before any model
// exists, the model one after Retrain; greedy (exploration_rate 0), ranked by success only.
//
// The world is one where rarely seen teams matter: 30% of the history is run by teams drawn from
// hundreds of possible ones (World.rareTeam), most seen once or twice, the rest by the twelve
// habitual teams of each task type. An argmax over hundreds of candidates then selects whatever
// estimate erred highest (the winner's curse): before the model's estimates carried their
// uncertainty (a constant prior strength of 8 around the model's score; commit 784a114), the
// model's mean regret on these very histories was 0.077 at 10^3, 0.021 at 5·10^3 and 0.016 at
// 2·10^4 executions against the statistics' 0 at each: teams seen once or twice that the model
// scored 0.87–0.96 won the argmax.
//
// Each size is one seeded history, so the figures are deterministic; the same claims held on a
// second seed (23) with the bench's learning-quality section, where at 10^3 the gate rejected the
// model.
const COMPLEXITIES = [1, 2, 4];
const RARE_SHARE = 0.3;
const SIZES = [1_000, 5_000, 20_000] as const;
/** The history's seed (the first `executions` draws of it at each size). */
const SEED = 11;
/** A history's mean regret with the model serving may exceed the statistics' by rounding only. */
const TOLERANCE = 1e-9;
/** At 2·10^4 executions the model's picks are within this of the best possible (the target). */
const REGRET_AT_20K = 0.01;

interface Scenario {
  executions: number;
  statistical: RegretFigures;
  modelled: RegretFigures;
}

async function runScenario(executions: number, seed: number): Promise<Scenario> {
  const server = await startTestServer({ config: QUIET_MODELS });
  try {
    await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
    await recordHistory(
      server.learning,
      drawHistory(world, { rareShare: RARE_SHARE }, executions, seed, "regret").map((h) => h.execution),
    );
    const statistical = await measureRegret(server.learning, world, COMPLEXITIES);
    const { success } = byKind((await server.admin.retrain({})).models);
    if (success.status !== ModelStatus.ACTIVE) throw new Error(`the success model was not activated: ${success.rejectionReason}`);
    const modelled = await measureRegret(server.learning, world, COMPLEXITIES);
    reportFigures(`regret ${executions}/${seed}`, {
      statistical: statistical.mean,
      model: modelled.mean,
      misses: modelled.picks.filter((p) => p.regret > 0),
    });
    return { executions, statistical, modelled };
  } finally {
    await server.stop();
  }
}

const describeMisses = (r: RegretFigures) =>
  r.picks
    .filter((p) => p.regret > 0)
    .map(
      (p) =>
        `${p.taskType}@${p.complexity}: ${p.agents.join("+")} (${p.sampleSize} runs, estimated ${p.estimated.toFixed(3)}, regret ${p.regret.toFixed(3)})`,
    )
    .join("\n  ");

describe("top-1 regret in a world of habits and rarely seen teams", () => {
  const scenarios: Scenario[] = [];
  beforeAll(async () => {
    for (const executions of SIZES) scenarios.push(await runScenario(executions, SEED));
  }, 240_000);

  it("answers every cell from the statistics before Retrain and from the model after", () => {
    expect(scenarios.map((s) => s.executions)).toEqual([...SIZES]);
    for (const s of scenarios) {
      expect(
        s.statistical.picks.every((p) => p.source === "STATISTICAL"),
        `${s.executions}`,
      ).toBe(true);
      expect(
        s.modelled.picks.every((p) => p.source === "MODEL"),
        `${s.executions}`,
      ).toBe(true);
    }
  });

  for (const [i, executions] of SIZES.entries()) {
    it(`gives the model's greedy picks a mean regret no higher than the statistics' after ${executions} executions`, () => {
      const s = scenarios[i]!;
      expect(
        s.modelled.mean,
        `model ${s.modelled.mean.toFixed(4)} vs statistical ${s.statistical.mean.toFixed(4)}\n  ${describeMisses(s.modelled)}`,
      ).toBeLessThanOrEqual(s.statistical.mean + TOLERANCE);
    });
  }

  it(`keeps the model's mean regret within ${REGRET_AT_20K} of the best possible after 20,000 executions`, () => {
    const s = scenarios.at(-1)!;
    expect(s.modelled.mean, describeMisses(s.modelled)).toBeLessThanOrEqual(REGRET_AT_20K);
  });
});
