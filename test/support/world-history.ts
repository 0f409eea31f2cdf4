import type { Client } from "@connectrpc/connect";
import type { BulkResult, Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import type { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { createRng, type Rng } from "../../src/sim/random.js";
import { createWorld, type World } from "../../src/sim/world.js";
import { worldExecution } from "../../src/sim/world-execution.js";

/** The world every learning test samples: the same one `simulate` runs in. */
export const world: World = createWorld(1);

/** The largest number of executions one RecordExecutions message may carry. */
const MESSAGE_LIMIT = 1000;

/** What to draw from the world. */
export interface HistoryOptions {
  /** Task types; each execution's is drawn uniformly from them. */
  taskTypes: readonly string[];
  /** How many executions. */
  count: number;
  /** Seed of the draws: the same seed gives the same executions (and ids). */
  seed: number;
  /** Prefix of the execution ids (ids are `<prefix>-<seed>-<n>`); default "world". */
  idPrefix?: string;
  /** The team of each execution; default one of the world's candidate teams, uniformly. */
  team?(taskType: string, rng: Rng): readonly string[];
  /** A fixed complexity; default drawn as the simulated fleet meets them. */
  complexity?: number;
}

/** Executions drawn from the world, deterministically from the seed (nothing is sent). */
export function worldExecutions(options: HistoryOptions): Execution[] {
  const rng = createRng(options.seed);
  const prefix = options.idPrefix ?? "world";
  return Array.from({ length: options.count }, (_, n) => {
    const taskType = rng.pick(options.taskTypes);
    const complexity = options.complexity ?? world.sampleComplexity(rng);
    const agents = options.team ? [...options.team(taskType, rng)] : world.randomTeam(taskType, rng);
    const outcome = world.sampleExecution(taskType, agents, complexity, rng);
    return worldExecution(`${prefix}-${options.seed}-${n}`, { taskType, complexity, agents }, outcome);
  });
}

/**
 * Records executions through one RecordExecutions stream (messages of up to 1,000) and fails
 * loudly when the service did not store every one, so a test never learns from less than it thinks.
 */
export async function recordInBulk(learning: Client<typeof LearningService>, executions: readonly Execution[]): Promise<BulkResult> {
  async function* messages() {
    for (let i = 0; i < executions.length; i += MESSAGE_LIMIT) yield { executions: executions.slice(i, i + MESSAGE_LIMIT) };
  }
  const { result } = await learning.recordExecutions(messages());
  if (!result) throw new Error("RecordExecutions answered without a result");
  if (result.storedCount !== executions.length) {
    const why = result.rejected
      .slice(0, 3)
      .map((r) => `${r.executionId}: ${r.field} ${r.reason}`)
      .join("; ");
    throw new Error(`stored ${result.storedCount} of ${executions.length} executions (${result.duplicateIds.length} duplicates) ${why}`);
  }
  return result;
}

/** Draws `options.count` executions from the world and records them in bulk; returns what was recorded. */
export async function recordWorldHistory(learning: Client<typeof LearningService>, options: HistoryOptions): Promise<Execution[]> {
  const executions = worldExecutions(options);
  await recordInBulk(learning, executions);
  return executions;
}

/** A team as a set, for comparisons that must ignore order: its agents sorted. */
export function asSet(agents: readonly string[]): string[] {
  return [...agents].sort();
}

/** How many of `executions` ran exactly this team (as a set) on this task type. */
export function countTeam(executions: readonly Execution[], taskType: string, agents: readonly string[]): number {
  const key = asSet(agents).join("+");
  return executions.filter((e) => e.taskType === taskType && asSet(e.agents).join("+") === key).length;
}
