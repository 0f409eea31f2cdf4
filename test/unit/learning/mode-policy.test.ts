import { describe, expect, it } from "vitest";
import { defaultExploration, EXPLORATION_FULL_UNTIL, MODE_POLICIES } from "../../../src/learning/mode-policy.js";

describe("defaultExploration", () => {
  const adaptive = MODE_POLICIES.adaptive;

  it("uses the mode's default in full while the task type has little history", () => {
    expect(defaultExploration(adaptive, 0)).toBe(adaptive.defaultExploration);
    expect(defaultExploration(adaptive, EXPLORATION_FULL_UNTIL)).toBe(adaptive.defaultExploration);
  });

  it("fades as 1/√n beyond it, so quadrupling the history halves the share", () => {
    const at = (n: number) => defaultExploration(adaptive, n);
    expect(at(4 * EXPLORATION_FULL_UNTIL)).toBeCloseTo(adaptive.defaultExploration / 2, 12);
    expect(at(16 * EXPLORATION_FULL_UNTIL)).toBeCloseTo(at(4 * EXPLORATION_FULL_UNTIL) / 2, 12);
    // Never zero: exploration goes on, ever more rarely.
    expect(at(1e9)).toBeGreaterThan(0);
  });

  it("stays zero for modes that never explore", () => {
    expect(defaultExploration(MODE_POLICIES.advisory, 10)).toBe(0);
    expect(defaultExploration(MODE_POLICIES.observation, 10_000)).toBe(0);
  });
});
