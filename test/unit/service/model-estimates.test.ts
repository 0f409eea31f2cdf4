import { describe, expect, it } from "vitest";
import type { TaskEvidence } from "../../../src/domain/evidence.js";
import { NO_EXECUTIONS } from "../../../src/domain/evidence.js";
import { featureEncoder } from "../../../src/ml/features.js";
import type { ModelSnapshot } from "../../../src/ml/model-runtime.js";
import { ModelEstimates } from "../../../src/service/model-estimates.js";

// The memos behind the model estimates belong to a ModelEstimates, not to the module: a stand-in
// session (no onnxruntime) counts the batched runs each one makes.

const TASK = "web";

function snapshotWithCountingModel() {
  const runs = { count: 0, failNext: false };
  const snapshot: ModelSnapshot = {
    success: {
      kind: "success",
      version: "v1",
      encoder: featureEncoder({ version: 1, taskTypes: [TASK], agents: ["A", "B"], taskTypeRows: { [TASK]: 1_000 } }),
      session: {
        run: async (_features, rows) => {
          runs.count += 1;
          if (runs.failNext) {
            runs.failNext = false;
            throw new Error("session failed");
          }
          return new Float32Array(rows).fill(0.7);
        },
        metadata: () => ({}),
        release: async () => {},
      },
    },
  };
  return { snapshot, runs };
}

const evidence: TaskEvidence = { taskType: TASK, task: { ...NO_EXECUTIONS }, combinations: [], agents: [], catalog: [], asOfMs: 0 };

describe("ModelEstimates", () => {
  it("scores one candidate list once per complexity bucket (two runs: at the complexity and at each team's record)", async () => {
    const { snapshot, runs } = snapshotWithCountingModel();
    const estimates = new ModelEstimates();
    const teams = [["A"], ["B"]];

    const first = await estimates.override(snapshot, evidence, 2.0, teams);
    const second = await estimates.override(snapshot, evidence, 2.1, teams);

    expect(second).toBe(first);
    expect(runs.count).toBe(2);
  });

  it("shares nothing between two instances: each service owns its memos", async () => {
    const { snapshot, runs } = snapshotWithCountingModel();
    const teams = [["A"], ["B"]];

    await new ModelEstimates().override(snapshot, evidence, 2, teams);
    await new ModelEstimates().override(snapshot, evidence, 2, teams);

    expect(runs.count).toBe(4);
  });

  it("does not remember a failed run: the next request scores again", async () => {
    const { snapshot, runs } = snapshotWithCountingModel();
    const estimates = new ModelEstimates();
    const teams = [["A"], ["B"]];
    runs.failNext = true;

    await expect(estimates.override(snapshot, evidence, 2, teams)).rejects.toThrow("session failed");
    const override = await estimates.override(snapshot, evidence, 2, teams);

    expect(override?.key).toBe("v1|2");
    // The failed run is repeated; the record scores, which succeeded, are not.
    expect(runs.count).toBe(3);
  });

  it("answers undefined, with no run, for a task type the model knows too little of", async () => {
    const { snapshot, runs } = snapshotWithCountingModel();

    expect(await new ModelEstimates().override(snapshot, { ...evidence, taskType: "other" }, 2, [["A"]])).toBeUndefined();
    expect(runs.count).toBe(0);
  });
});
