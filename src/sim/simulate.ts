// The simulated orchestrator: draws tasks from the synthetic world (world.ts), sometimes asks the
// service which team to use, runs the task in the world, and records what happened, exactly as a
// real orchestrator would through the public API.
//
// Per execution, in this order, from one seeded generator: the task type (when "all"), the
// complexity, the orchestrator's own team (a random candidate team), whether to ask the service,
// then the outcome. Every step consumes a fixed number of draws whatever the service answers, so
// the same seed gives the same tasks and the same luck even when the answers differ.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { Recommendation } from "../../gen/agentlearning/v1/learning_pb.js";
import type { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { createRng } from "./random.js";
import { createRecorder, type RecordingClient, type RecordingTally } from "./recorder.js";
import { createWorld, type World } from "./world.js";
import { worldExecution } from "./world-execution.js";

/** The seed of the world `simulate` runs in, so runs with different --seed add to the same world. */
export const WORLD_SEED = 1;

/** The share of executions that ask PredictAgents and follow its top answer, unless told otherwise. */
export const DEFAULT_FOLLOW_SHARE = 0.5;

/** The RPCs a simulation uses; the generated LearningService client has them all. */
export type SimulationClient = RecordingClient & Pick<Client<typeof LearningService>, "predictAgents">;

/** What to simulate. */
export interface SimulationOptions {
  /** One of the world's task types, or "all" to draw each execution's task type uniformly. */
  taskType: string;
  /** How many executions to simulate and record. */
  count: number;
  /** Seed of the run's draws; also part of every execution_id (`sim-<seed>-<n>`). */
  seed: number;
  /** Share in [0, 1] of executions that follow the service's top recommendation; default 0.5. */
  followShare?: number;
  /** The world to run in; default createWorld(WORLD_SEED). */
  world?: World;
  /** The clock that stamps executions; default Date.now. */
  now?: () => number;
  /** Told after each execution is handed to the service (recorded, or queued for bulk recording). */
  onProgress?(done: number, total: number): void;
  /** Told once, in words, when the service cannot give recommendations and the run goes on without. */
  onNotice?(message: string): void;
}

/** What a simulation did; plain JSON data, as `simulate --json` prints it. */
export type SimulationSummary = RecordingTally & {
  seed: number;
  taskType: string;
  /** Executions simulated. */
  simulated: number;
  /** Executions run with the team of a PredictAgents answer (recorded with its recommendation_id). */
  followed: number;
  /** Of those, answers the service applied as its own choice (not observation mode's echo). */
  followedApplied: number;
  /** Share of all simulated executions that succeeded. */
  successRate: number;
  /** Share of followed executions that succeeded; null when none followed. */
  followedSuccessRate: number | null;
  /** Share of the other executions (the orchestrator's own teams) that succeeded; null when none. */
  ownSuccessRate: number | null;
  /** Why recommendations were unavailable, when PredictAgents refused; null when it answered. */
  recommendationsUnavailable: string | null;
};

/**
 * Runs a simulation against a live service: the way `simulate` and the integration tests fill a
 * service with executions whose ground truth is known, and exercise the recommend → record loop.
 */
export async function simulate(clients: { learning: SimulationClient }, options: SimulationOptions): Promise<SimulationSummary> {
  const world = options.world ?? createWorld(WORLD_SEED);
  const followShare = options.followShare ?? DEFAULT_FOLLOW_SHARE;
  if (options.taskType !== "all" && !world.taskTypes.includes(options.taskType)) {
    throw new RangeError(`unknown task type ${JSON.stringify(options.taskType)}; known: all, ${world.taskTypes.join(", ")}`);
  }
  const now = options.now ?? Date.now;
  const rng = createRng(options.seed);
  const recorder = createRecorder(clients.learning);
  let unavailable: string | null = null;
  const counts = { successes: 0, followed: 0, followedApplied: 0, followedSuccesses: 0 };

  for (let n = 0; n < options.count; n++) {
    const taskType = options.taskType === "all" ? rng.pick(world.taskTypes) : options.taskType;
    const complexity = world.sampleComplexity(rng);
    const ownTeam = world.randomTeam(taskType, rng);
    const wantsAdvice = rng.chance(followShare);

    let advice: { recommendation: Recommendation; applied: boolean } | undefined;
    if (wantsAdvice && unavailable === null) {
      try {
        advice = await topRecommendation(clients.learning, taskType, complexity, ownTeam);
      } catch (error) {
        const reason = refusal(error);
        if (reason === undefined) throw error;
        unavailable = reason;
        options.onNotice?.(`PredictAgents is unavailable (${reason}); the remaining executions use the orchestrator's own teams`);
      }
    }

    const team = advice ? [...advice.recommendation.agents] : ownTeam;
    const outcome = world.sampleExecution(taskType, team, complexity, rng);
    const finishedMs = now();
    const execution = worldExecution(`sim-${options.seed}-${n}`, { taskType, complexity, agents: team }, outcome, {
      taskDescription: `simulated ${taskType} task ${n} of run ${options.seed}`,
      startedAt: timestampFromMs(finishedMs - Math.round(outcome.durationSeconds * 1000)),
      finishedAt: timestampFromMs(finishedMs),
      recommendationId: advice?.recommendation.recommendationId ?? "",
      modelVersion: advice?.recommendation.modelVersion ?? "",
    });

    if (outcome.success) counts.successes++;
    if (advice) {
      counts.followed++;
      if (advice.applied) counts.followedApplied++;
      if (outcome.success) counts.followedSuccesses++;
      await recorder.recordNow(execution);
    } else {
      await recorder.enqueue(execution);
    }
    options.onProgress?.(n + 1, options.count);
  }
  await recorder.flush();

  const own = options.count - counts.followed;
  return {
    seed: options.seed,
    taskType: options.taskType,
    simulated: options.count,
    ...recorder.tally(),
    followed: counts.followed,
    followedApplied: counts.followedApplied,
    successRate: options.count === 0 ? 0 : counts.successes / options.count,
    followedSuccessRate: counts.followed === 0 ? null : counts.followedSuccesses / counts.followed,
    ownSuccessRate: own === 0 ? null : (counts.successes - counts.followedSuccesses) / own,
    recommendationsUnavailable: unavailable,
  };
}

/**
 * Asks for one recommendation, offering the orchestrator's own team as its default (which
 * observation mode hands back, so apprentice feedback flows too). Undefined when the service
 * answered with no usable team, e.g. advisory mode below its threshold.
 */
async function topRecommendation(
  learning: SimulationClient,
  taskType: string,
  complexity: number,
  ownTeam: string[],
): Promise<{ recommendation: Recommendation; applied: boolean } | undefined> {
  const response = await learning.predictAgents({ taskType, complexity, maxRecommendations: 1, callerDefaultAgents: ownTeam });
  const recommendation = response.recommendations[0];
  if (!recommendation || recommendation.agents.length === 0) return undefined;
  return { recommendation, applied: response.applied };
}

/**
 * The reason, when an error means "this service gives no recommendations" (not built yet, or a
 * mode that forbids it), which a simulation rides out; undefined for any other error.
 */
function refusal(error: unknown): string | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  if (error.code === Code.Unimplemented) return `UNIMPLEMENTED: ${error.rawMessage}`;
  if (error.code === Code.FailedPrecondition) return `FAILED_PRECONDITION: ${error.rawMessage}`;
  return undefined;
}
