// How well the service learns, judged against the simulator's truth, through the public API only:
// record a history, then score executions the service never saw with PredictOutcome and ask
// PredictAgents for the greedy first team of every task type at several complexities. Success is
// judged by AUC (ours, and the true probabilities' on the same outcomes: the best any predictor
// could do), by mean |p − p_true|; duration by mean |ln predicted − ln true mean|; picks by top-1
// regret, P_true(best team) − P_true(picked team). Used by the bench's learning-quality section
// and by the tests that hold the service to its accuracy and regret claims.
import type { Client } from "@connectrpc/connect";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { EstimateSource } from "../../gen/agentlearning/v1/learning_pb.js";
import type { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { auc } from "../ml/metrics.js";
import { createRng } from "./random.js";
import type { World } from "./world.js";
import { worldExecution } from "./world-execution.js";

/** The RPCs a measurement uses. */
export type QualityClient = Pick<Client<typeof LearningService>, "recordExecutions" | "predictOutcome" | "predictAgents">;

/** Where a history's teams come from. */
export interface HistoryMix {
  /** Share of executions run by a rarely seen team (World.rareTeam); the rest by a habitual one (World.randomTeam). */
  rareShare: number;
}

/** One execution drawn from the world, with the truth behind it. */
export interface TruthfulExecution {
  execution: Execution;
  trueSuccess: number;
  trueDuration: number;
}

/** Draws `count` executions (ids `<prefix>-<seed>-<n>`): task type uniform, complexity as the fleet meets it, team from the mix. */
export function drawHistory(world: World, mix: HistoryMix, count: number, seed: number, prefix = "quality"): TruthfulExecution[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, n) => {
    const taskType = rng.pick(world.taskTypes);
    const complexity = world.sampleComplexity(rng);
    const agents = rng.next() < mix.rareShare ? world.rareTeam(taskType, rng) : world.randomTeam(taskType, rng);
    const outcome = world.sampleExecution(taskType, agents, complexity, rng);
    return {
      execution: worldExecution(`${prefix}-${seed}-${n}`, { taskType, complexity, agents }, outcome),
      trueSuccess: world.successProbability(taskType, agents, complexity),
      trueDuration: world.expectedDuration(taskType, agents, complexity),
    };
  });
}

/** Records executions through RecordExecutions in messages of up to 1,000, failing loudly on anything not stored. */
export async function recordHistory(client: QualityClient, executions: readonly Execution[]): Promise<void> {
  async function* messages() {
    for (let i = 0; i < executions.length; i += 1000) yield { executions: executions.slice(i, i + 1000) };
  }
  const result = await client.recordExecutions(messages());
  const stored = (result.result?.storedCount ?? 0) + (result.result?.duplicateIds.length ?? 0);
  if (stored !== executions.length) {
    throw new Error(
      `recorded ${stored} of ${executions.length} executions: ${result.result?.rejected
        .slice(0, 3)
        .map((r) => r.reason)
        .join("; ")}`,
    );
  }
}

/** Prediction figures on unseen executions. */
export interface PredictionFigures {
  rows: number;
  /** AUC of the served probabilities, and of the true ones, on the same outcomes. */
  auc: number;
  truthAuc: number;
  /** Mean |p − p_true|. */
  meanAbsError: number;
  /** Mean |ln E[duration] − ln true mean duration| (rows with a duration estimate). */
  durationLogError: number;
  /** How many answers came from each source (MODEL, STATISTICAL, CATALOG). */
  sources: Record<string, number>;
}

/** Scores unseen executions with PredictOutcome, `concurrency` calls at a time. */
export async function measurePredictions(
  client: QualityClient,
  rows: readonly TruthfulExecution[],
  concurrency = 8,
): Promise<PredictionFigures> {
  const p = new Float64Array(rows.length);
  const logErrors: number[] = [];
  const sources: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const i = next++;
      const { execution, trueDuration } = rows[i]!;
      const answer = await client.predictOutcome({
        taskType: execution.taskType,
        complexity: execution.complexity,
        agents: execution.agents,
      });
      p[i] = answer.successProbability;
      const source = EstimateSource[answer.source] ?? String(answer.source);
      sources[source] = (sources[source] ?? 0) + 1;
      if (answer.expectedDurationSeconds > 0) logErrors.push(Math.abs(Math.log(answer.expectedDurationSeconds) - Math.log(trueDuration)));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const y = Float64Array.from(rows, (r) => (r.execution.success ? 1 : 0));
  const truth = Float64Array.from(rows, (r) => r.trueSuccess);
  let error = 0;
  for (let i = 0; i < rows.length; i++) error += Math.abs(p[i]! - truth[i]!);
  return {
    rows: rows.length,
    auc: auc(p, y),
    truthAuc: auc(truth, y),
    meanAbsError: error / rows.length,
    durationLogError: logErrors.length > 0 ? logErrors.reduce((a, b) => a + b, 0) / logErrors.length : Number.NaN,
    sources,
  };
}

/** One greedy answer judged against the truth. */
export interface GreedyPick {
  taskType: string;
  complexity: number;
  agents: string[];
  regret: number;
  source: string;
  estimated: number;
  sampleSize: number;
}

/** Top-1 regret of greedy answers (no exploration, success only). */
export interface RegretFigures {
  mean: number;
  worst: number;
  picks: GreedyPick[];
}

/** Asks PredictAgents for the greedy first team of every task type at each complexity and judges it. */
export async function measureRegret(client: QualityClient, world: World, complexities: readonly number[]): Promise<RegretFigures> {
  const picks: GreedyPick[] = [];
  for (const taskType of world.taskTypes) {
    for (const complexity of complexities) {
      const answer = await client.predictAgents({ taskType, complexity, explorationRate: 0, successWeight: 1, maxRecommendations: 1 });
      const top = answer.recommendations[0];
      if (!top) throw new Error(`no recommendation for ${taskType} at ${complexity}: ${answer.explanation}`);
      const best = world.successProbability(taskType, world.bestCombination(taskType), complexity);
      picks.push({
        taskType,
        complexity,
        agents: [...top.agents].sort(),
        regret: best - world.successProbability(taskType, top.agents, complexity),
        source: EstimateSource[top.source] ?? String(top.source),
        estimated: top.successProbability,
        sampleSize: Number(top.sampleSize),
      });
    }
  }
  const regrets = picks.map((p) => p.regret);
  return { mean: regrets.reduce((a, b) => a + b, 0) / regrets.length, worst: Math.max(...regrets), picks };
}
