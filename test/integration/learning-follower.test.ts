import { describe, expect, it } from "vitest";
import { runFollowerLoop } from "../../src/sim/follower-loop.js";
import { reportFigures } from "../support/model-fixtures.js";
import { startTestServer } from "../support/server.js";
import { world } from "../support/world-history.js";

// The promise to an orchestrator that follows PredictAgents (default mode and exploration,
// automatic retraining on, outcomes credited): after 1,000 executions of its old habits and
// 3,000 followed tasks, the teams it runs are within 0.02 of the best possible true success,
// exploration included. Judged on true probabilities (no outcome noise in the figure); the
// window of 500 tasks is the issue's.
const HABITS = 1_000;
const TASKS = 3_000;
const WINDOW = 500;
const WITHIN_BEST = 0.02;

describe("an orchestrator following PredictAgents", () => {
  it("runs teams within 0.02 of the best possible after 3,000 followed tasks, and better than its habits", async () => {
    const server = await startTestServer({});
    try {
      const result = await runFollowerLoop(server.learning, world, { habits: HABITS, tasks: TASKS, window: WINDOW, seed: 41 });
      reportFigures("follower loop", { ...result });
      const last = result.windows.at(-1)!;
      expect(result.windows).toHaveLength(TASKS / WINDOW);
      expect(last.trueSuccess).toBeGreaterThan(result.habitSuccess + 0.2);
      expect(last.gap).toBeLessThanOrEqual(WITHIN_BEST);
    } finally {
      await server.stop();
    }
  }, 600_000);
});
