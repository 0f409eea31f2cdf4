import { EstimateSource, LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";

// Human names of the proto's enums, read off the generated enums (LearningMode.ADAPTIVE →
// "adaptive") so they never drift from the contract; a value newer than this build still prints.

/** "adaptive" for LEARNING_MODE_ADAPTIVE. */
export function learningModeName(mode: LearningMode): string {
  return (LearningMode[mode] ?? `mode ${mode}`).toLowerCase();
}

/** "statistical" for ESTIMATE_SOURCE_STATISTICAL. */
export function estimateSourceName(source: EstimateSource): string {
  return (EstimateSource[source] ?? `source ${source}`).toLowerCase();
}
