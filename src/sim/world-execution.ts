import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import type { Outcome } from "./world.js";

/** A task as the simulated orchestrator ran it. */
export interface WorldTask {
  taskType: string;
  complexity: number;
  agents: string[];
}

/**
 * The Execution one simulated run records: the task, the team and what the world's draw produced;
 * `extra` adds what only the caller knows (the recommendation followed, times, a description).
 */
export function worldExecution(
  executionId: string,
  task: WorldTask,
  outcome: Outcome,
  extra: Omit<MessageInitShape<typeof ExecutionSchema>, "$typeName"> = {},
): Execution {
  return create(ExecutionSchema, {
    executionId,
    taskType: task.taskType,
    complexity: task.complexity,
    agents: task.agents,
    durationSeconds: outcome.durationSeconds,
    success: outcome.success,
    errorMessage: outcome.errorMessage,
    resourceUsage: { cpuPercent: outcome.cpuPercent, memoryMb: outcome.memoryMb },
    ...extra,
  });
}
