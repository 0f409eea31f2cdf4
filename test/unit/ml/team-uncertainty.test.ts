import { describe, expect, it } from "vitest";
import { createRng } from "../../../src/sim/random.js";
import type { TrainingExample } from "../../../src/ml/training-set.js";
import {
  chooseServing,
  TEAM_ROW_BUCKETS,
  teamLogitVariances,
  teamRowBucket,
  UNSEEN_VARIANCE_FLOOR,
} from "../../../src/ml/team-uncertainty.js";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Teams whose true log-odds stray from a model's constant 0.5 by N(0, sd²); rows per team as given. */
function world(teams: number, rowsPerTeam: number, sd: number, seed: number) {
  const rng = createRng(seed);
  const offsets = Array.from({ length: teams }, () => sd * rng.normal());
  const draw = (rows: number): TrainingExample[] =>
    Array.from({ length: teams * rows }, (_, i) => {
      const team = i % teams;
      return {
        taskType: "t",
        agents: [`A${team}`],
        complexity: 2,
        success: rng.next() < sigmoid(offsets[team]!),
        durationSeconds: 1,
        recordedAtUs: BigInt(i),
      };
    });
  return { train: draw(rowsPerTeam), validation: draw(rowsPerTeam) };
}

describe("teamLogitVariances", () => {
  it("measures the spread of teams around the model, erring wide (an upper limit)", () => {
    const { train, validation } = world(400, 40, 0.4, 1);
    const variances = teamLogitVariances(train, validation, new Float64Array(validation.length).fill(0.5));
    const bucket = teamRowBucket(40);
    expect(variances[bucket]).toBeGreaterThan(0.16 * 0.8);
    expect(variances[bucket]).toBeLessThan(0.16 * 1.5);
  });

  it("is never smaller for teams with fewer rows, and never below the unseen floor for teams it could not measure", () => {
    const { train, validation } = world(50, 30, 0, 2);
    const variances = teamLogitVariances(train, validation, new Float64Array(validation.length).fill(0.5));
    expect(variances).toHaveLength(TEAM_ROW_BUCKETS.length);
    for (let b = 1; b < variances.length; b++) expect(variances[b - 1]).toBeGreaterThanOrEqual(variances[b]!);
    expect(variances[0]).toBeGreaterThanOrEqual(UNSEEN_VARIANCE_FLOOR);
  });
});

describe("chooseServing", () => {
  const score = () => 0.5;
  /** A statistical prior that is wrong for every team: confident at 0.9. */
  const misleading = () => ({ mean: 0.9, strength: 20 });

  it("keeps the model alone when it already knows every team (records and priors only add noise)", () => {
    const { train, validation } = world(100, 20, 0, 3);
    expect(chooseServing(train, validation, score, [0.25, 0.25, 0.25, 0.25, 0.25], misleading)).toEqual({
      recordWeight: 0,
      statisticalPrior: false,
    });
  });

  it("counts the record when the model misjudges teams", () => {
    const { train, validation } = world(100, 40, 1.2, 4);
    expect(chooseServing(train, validation, score, [1, 1, 1, 1, 1], misleading).recordWeight).toBeGreaterThan(0);
  });

  it("adds the statistical prior when it knows teams the model misjudges and never ran", () => {
    const rng = createRng(5);
    const rates = Array.from({ length: 100 }, () => sigmoid(1.2 * rng.normal()));
    const train: TrainingExample[] = [
      { taskType: "t", agents: ["OTHER"], complexity: 2, success: true, durationSeconds: 1, recordedAtUs: 0n },
    ];
    const holdout: TrainingExample[] = Array.from({ length: 4000 }, (_, i) => ({
      taskType: "t",
      agents: [`B${i % 100}`],
      complexity: 2,
      success: rng.next() < rates[i % 100]!,
      durationSeconds: 1,
      recordedAtUs: BigInt(i),
    }));
    const oracle = (e: TrainingExample) => ({ mean: rates[Number(e.agents[0]!.slice(1))]!, strength: 20 });
    expect(chooseServing(train, holdout, score, [1, 1, 1, 1, 1], oracle).statisticalPrior).toBe(true);
    expect(chooseServing(train, holdout, score, [1, 1, 1, 1, 1], misleading).statisticalPrior).toBe(false);
  });
});
