// The product's promise, measured: an orchestrator that runs whatever PredictAgents puts first
// (default mode, default exploration, outcomes credited to the recommendation) does better than
// its old habits and keeps closing the gap to the best possible team. Judged against the world's
// truth: each task's true success with the team run, against the true success of the world's best
// team at the same task and complexity, averaged per window of tasks. Used by the bench's
// learning-quality section and by the test that holds the service to the promise.
import type { Client } from "@connectrpc/connect";
import { EstimateSource } from "../../gen/agentlearning/v1/learning_pb.js";
import type { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { drawHistory, recordHistory } from "./learning-quality.js";
import { createRng } from "./random.js";
import type { World } from "./world.js";
import { worldExecution } from "./world-execution.js";

/** The RPCs the loop uses. */
export type FollowerClient = Pick<
  Client<typeof LearningService>,
  "recordExecutions" | "recordExecution" | "predictAgents" | "predictOutcome"
>;

/** The loop's size. */
export interface FollowerLoopOptions {
  /** Executions of the orchestrator's own habitual teams recorded first. */
  habits: number;
  /** Tasks then run with the service's first team. */
  tasks: number;
  /** Tasks per reported window. */
  window: number;
  seed: number;
}

/** One window of followed tasks, judged against the truth. */
export interface FollowerWindow {
  /** Tasks in the window. */
  tasks: number;
  /** Mean true success probability of the teams run. */
  trueSuccess: number;
  /** Mean true success probability of the best team for the same tasks. */
  bestPossible: number;
  /** bestPossible − trueSuccess. */
  gap: number;
  /** Mean success probability the service predicted for the teams it put first. */
  predicted: number;
  /** Share of the tasks whose first team was an exploratory pick. */
  exploratory: number;
  /** Share of the tasks whose first team was scored by a trained model. */
  modelScored: number;
}

/** What the loop measured. */
export interface FollowerLoopResult {
  /** Mean true success of the habitual teams (over the recorded habits). */
  habitSuccess: number;
  windows: FollowerWindow[];
}

/** Records the habits, then follows PredictAgents for `tasks` tasks, one at a time, each outcome recorded before the next question. */
export async function runFollowerLoop(client: FollowerClient, world: World, options: FollowerLoopOptions): Promise<FollowerLoopResult> {
  const habits = drawHistory(world, { rareShare: 0 }, options.habits, options.seed, "habit");
  await recordHistory(
    client,
    habits.map((h) => h.execution),
  );
  const rng = createRng(options.seed ^ 0x9e3779b9);
  const windows: FollowerWindow[] = [];
  let sums = { tasks: 0, trueSuccess: 0, bestPossible: 0, predicted: 0, exploratory: 0, modelScored: 0 };
  for (let n = 0; n < options.tasks; n++) {
    const taskType = rng.pick(world.taskTypes);
    const complexity = world.sampleComplexity(rng);
    const answer = await client.predictAgents({ taskType, complexity });
    const first = answer.recommendations[0];
    if (!first) throw new Error(`no recommendation for ${taskType} at ${complexity}: ${answer.explanation}`);
    const outcome = world.sampleExecution(taskType, first.agents, complexity, rng);
    const execution = worldExecution(`follow-${options.seed}-${n}`, { taskType, complexity, agents: first.agents }, outcome, {
      recommendationId: first.recommendationId,
      modelVersion: first.modelVersion,
    });
    await client.recordExecution({ execution });
    sums.tasks++;
    sums.trueSuccess += world.successProbability(taskType, first.agents, complexity);
    sums.bestPossible += world.successProbability(taskType, world.bestCombination(taskType), complexity);
    sums.predicted += first.successProbability;
    sums.exploratory += first.exploratory ? 1 : 0;
    sums.modelScored += first.source === EstimateSource.MODEL ? 1 : 0;
    if (sums.tasks === options.window || n === options.tasks - 1) {
      const k = sums.tasks;
      windows.push({
        tasks: k,
        trueSuccess: sums.trueSuccess / k,
        bestPossible: sums.bestPossible / k,
        gap: (sums.bestPossible - sums.trueSuccess) / k,
        predicted: sums.predicted / k,
        exploratory: sums.exploratory / k,
        modelScored: sums.modelScored / k,
      });
      sums = { tasks: 0, trueSuccess: 0, bestPossible: 0, predicted: 0, exploratory: 0, modelScored: 0 };
    }
  }
  return { habitSuccess: habits.reduce((a, h) => a + h.trueSuccess, 0) / Math.max(1, habits.length), windows };
}
