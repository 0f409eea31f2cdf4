import { describe, expect, it } from "vitest";
import {
  buildFeatureMap,
  encodeExamples,
  splitChronologically,
  type TrainingExample,
  taskTeamKey,
  teamIds,
} from "../../../src/ml/training-set.js";

const example = (taskType: string, agents: string[], i: number): TrainingExample => ({
  taskType,
  agents,
  complexity: 1 + (i % 5),
  success: i % 3 !== 0,
  durationSeconds: 10 + i,
  recordedAtUs: BigInt(i),
});

describe("teamIds", () => {
  it("gives two examples one id exactly when their taskTeamKeys are equal, across every set", () => {
    const a = [example("t", ["B", "A"], 0), example("t", ["A", "B"], 1), example("u", ["A", "B"], 2), example("t", ["A", "B", "A"], 3)];
    const b = [example("t", ["A", "B"], 4), example("t", ["C"], 5), example("u", ["B", "A"], 6)];
    const { sets, count } = teamIds(a, b);
    const all = [...a, ...b];
    const ids = [...sets[0]!, ...sets[1]!];
    expect(count).toBe(new Set(all.map(taskTeamKey)).size);
    for (let i = 0; i < all.length; i++) {
      for (let j = 0; j < all.length; j++) {
        expect(ids[i] === ids[j], `${i} vs ${j}`).toBe(taskTeamKey(all[i]!) === taskTeamKey(all[j]!));
      }
    }
    expect(Math.max(...ids)).toBe(count - 1);
  });
});

describe("splitChronologically", () => {
  const history = Array.from({ length: 200 }, (_, i) => example(i % 2 ? "t" : "u", i % 7 ? ["A", "B"] : ["C"], i));

  it("encodes the same rows whether it reuses the whole history's encoding or not", () => {
    const map = buildFeatureMap(history);
    const reused = splitChronologically(history, { map, set: encodeExamples(map, history) });
    const fresh = splitChronologically(history);
    for (const part of ["train", "validation", "holdout"] as const) {
      expect(reused[part].rows).toBe(fresh[part].rows);
      expect([...reused[part].features]).toEqual([...fresh[part].features]);
      expect([...reused[part].success]).toEqual([...fresh[part].success]);
      expect([...reused[part].logDuration]).toEqual([...fresh[part].logDuration]);
    }
  });

  it("encodes afresh when the newest rows bring a column the training rows lack", () => {
    const withNewAgent = [...history.slice(0, -1), example("t", ["NEW"], 199)];
    const map = buildFeatureMap(withNewAgent);
    const split = splitChronologically(withNewAgent, { map, set: encodeExamples(map, withNewAgent) });
    expect(split.featureMap.agents).not.toContain("NEW");
    expect(split.train.featureCount).toBe(encodeExamples(split.featureMap, withNewAgent.slice(0, 1)).featureCount);
    expect(split.train.featureCount).toBeLessThan(encodeExamples(map, withNewAgent.slice(0, 1)).featureCount);
  });
});
