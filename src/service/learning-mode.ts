import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import type { LearningSettings } from "../store/status.js";

/** Stored mode names ↔ the proto enum. */
export const LEARNING_MODES: Record<LearningSettings["learning_mode"], LearningMode> = {
  observation: LearningMode.OBSERVATION,
  advisory: LearningMode.ADVISORY,
  adaptive: LearningMode.ADAPTIVE,
  autonomous: LearningMode.AUTONOMOUS,
};

/** The stored name of a proto learning mode (undefined for UNSPECIFIED). */
export function modeNameOf(mode: LearningMode): LearningSettings["learning_mode"] | undefined {
  return (Object.entries(LEARNING_MODES) as [LearningSettings["learning_mode"], LearningMode][]).find(([, m]) => m === mode)?.[0];
}
