import type { TrainingExample } from "../src/ml/training-set.js";
import { worldExecution } from "./world.js";

/**
 * `count` executions of world `seed` as the trainer sees them (oldest first, as the retrain worker
 * reads them), keeping only the fields training reads, so 10⁶ of them hold what the worker's
 * page reads would hold and not the messages' text.
 */
export function worldTrainingExamples(seed: number, count: number): TrainingExample[] {
  const examples: TrainingExample[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const e = worldExecution(seed, "t", i);
    examples[i] = {
      taskType: e.taskType,
      agents: e.agents,
      complexity: e.complexity,
      success: e.success,
      durationSeconds: e.durationSeconds,
      recordedAtUs: BigInt(e.finishedAtMs) * 1000n,
    };
  }
  return examples;
}
