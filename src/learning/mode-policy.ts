// How each learning mode turns ranked candidates into an answer. The thresholds adapt to the
// measured calibration gap g = |mean predicted success − observed success| of past
// recommendations whose outcomes were recorded (0 until 30 outcomes exist): the worse the service's
// probabilities have proved, the more confidence it demands before recommending.

/** The persisted learning modes. */
export type ModeName = "observation" | "advisory" | "adaptive" | "autonomous";

/** What a mode allows. */
export interface ModePolicy {
  /** Exploration share when the request does not set one. */
  defaultExploration: number;
  /** Whether the request may set exploration (advisory and observation never explore). */
  explorationAllowed: boolean;
  /** Lowest confidence a recommendation needs, given the calibration gap. */
  threshold(calibrationGap: number): number;
  /** Whether the answer is the service's own choice (false in observation: the caller's is returned). */
  applied: boolean;
}

/** The policy of each mode. */
export const MODE_POLICIES: Record<ModeName, ModePolicy> = {
  observation: { defaultExploration: 0, explorationAllowed: false, threshold: () => 0, applied: false },
  advisory: { defaultExploration: 0, explorationAllowed: false, threshold: (g) => Math.min(0.95, 0.8 + g), applied: true },
  adaptive: { defaultExploration: 0.1, explorationAllowed: true, threshold: (g) => Math.min(0.5, g), applied: true },
  autonomous: { defaultExploration: 0.2, explorationAllowed: true, threshold: () => 0, applied: true },
};
