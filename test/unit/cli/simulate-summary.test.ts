import { describe, expect, it } from "vitest";
import { formatSummary } from "../../../src/cli/commands/simulate.js";
import type { SimulationSummary } from "../../../src/sim/simulate.js";

const summary: SimulationSummary = {
  seed: 42,
  taskType: "web_development",
  simulated: 10,
  stored: 10,
  duplicates: 0,
  rejected: 0,
  rejections: [],
  followed: 4,
  followedApplied: 3,
  successRate: 0.7,
  followedSuccessRate: 0.75,
  ownSuccessRate: 2 / 3,
  recommendationsUnavailable: null,
};

describe("the simulate summary", () => {
  it("says what was stored and how followed and own teams fared, and how to replay the run", () => {
    expect(formatSummary(summary, 0.5).split("\n")).toEqual([
      "simulated 10 executions of web_development (seed 42): 10 stored, 0 duplicates, 0 rejected",
      "  success rate     70.0%",
      "  followed advice  4 (3 applied by the service), success 75.0%",
      "  own teams        6, success 66.7%",
      "replay on a fresh service: agent-learning simulate web_development 10 --seed 42 --follow-share 0.5",
    ]);
  });

  it("says why no advice was followed, and lists rejections", () => {
    const text = formatSummary(
      {
        ...summary,
        stored: 9,
        rejected: 1,
        rejections: [{ executionId: "sim-42-3", code: "ALREADY_EXISTS", reason: "stored with other content" }],
        followed: 0,
        followedApplied: 0,
        followedSuccessRate: null,
        recommendationsUnavailable: "UNIMPLEMENTED: not yet",
      },
      0.5,
    );
    expect(text).toContain("followed advice  0 (0 applied by the service), success n/a");
    expect(text).toContain("  recommendations  unavailable: UNIMPLEMENTED: not yet");
    expect(text).toContain("  rejected sim-42-3 (ALREADY_EXISTS): stored with other content");
  });
});
