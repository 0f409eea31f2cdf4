import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";

/** The fields of an Execution a test may set. */
export type ExecutionInit = MessageInitShape<typeof ExecutionSchema>;

/** A fresh execution id no other test will use. */
export function uniqueId(prefix = "exec"): string {
  return `${prefix}-${randomUUID()}`;
}

/**
 * A valid execution with a unique id (already normalised: lower-case task type, upper-case
 * agents), so a test states only the fields its behaviour is about.
 */
export function makeExecution(overrides: ExecutionInit = {}): Execution {
  return create(ExecutionSchema, {
    executionId: uniqueId(),
    taskType: "web_development",
    taskDescription: "build the landing page",
    complexity: 1.5,
    agents: ["ARCHITECT", "CONSTRUCTOR"],
    durationSeconds: 42.25,
    success: true,
    ...overrides,
  });
}
