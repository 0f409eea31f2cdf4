import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { teamKey } from "../../src/domain/team.js";
import { createRng } from "../../src/sim/random.js";
import type { TestServer } from "./server.js";
import { worldExecution } from "../../src/sim/world-execution.js";
import { recordWorldHistory, world } from "./world-history.js";

/** The task types the console tests seed. */
export const CONSOLE_TASK_TYPES = ["web_development", "bug_fix"] as const;

/** What seedConsoleWorld recorded. */
export interface ConsoleWorld {
  /** The drawn history (no recommendation ids). */
  history: Execution[];
  /** Executions recorded with the id of a recommendation and the team it recommended. */
  followed: Execution[];
  /** Executions recorded with a recommendation id but another team (credited, not followed). */
  overridden: Execution[];
}

/**
 * Seeds a server the way a fleet fills it: a history drawn from the simulated world, then rounds
 * in which the orchestrator asks PredictAgents, runs the first recommendation (outcome drawn from
 * the world) and records it with the recommendation id; every fifth round it runs its own team
 * instead, still quoting the id. Ends with an analysis, so insights exist.
 */
export async function seedConsoleWorld(
  server: TestServer,
  options: { history: number; rounds: number; seed: number },
): Promise<ConsoleWorld> {
  const history = await recordWorldHistory(server.learning, { taskTypes: CONSOLE_TASK_TYPES, count: options.history, seed: options.seed });
  const rng = createRng(options.seed + 1);
  const followed: Execution[] = [];
  const overridden: Execution[] = [];
  for (let n = 0; n < options.rounds; n++) {
    const taskType = CONSOLE_TASK_TYPES[n % CONSOLE_TASK_TYPES.length] ?? "web_development";
    const complexity = 2;
    const answer = await server.learning.predictAgents({ taskType, complexity, maxRecommendations: 3 });
    const first = answer.recommendations[0];
    if (!first) throw new Error(`PredictAgents recommended nothing for ${taskType}: ${answer.explanation}`);
    const override = n % 5 === 4;
    const agents = override ? world.randomTeam(taskType, rng) : [...first.agents];
    const outcome = world.sampleExecution(taskType, agents, complexity, rng);
    const execution = worldExecution(`console-${options.seed}-${n}`, { taskType, complexity, agents }, outcome, {
      recommendationId: first.recommendationId,
      modelVersion: first.modelVersion,
    });
    await server.learning.recordExecution({ execution });
    const sameTeam = teamKey(agents) === teamKey(first.agents);
    (sameTeam ? followed : overridden).push(execution);
  }
  await server.admin.analyze({});
  return { history, followed, overridden };
}
