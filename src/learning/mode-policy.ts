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

/** Executions of a task type up to which a mode's default exploration share applies in full. */
export const EXPLORATION_FULL_UNTIL = 100;

/**
 * The exploration share used when a request sets none: the mode's default while the task type has
 * at most EXPLORATION_FULL_UNTIL executions, then fading as 1/√n. Why √n: an exploratory pick costs
 * the gap between the explored team and the best, so a constant share keeps a constant gap to the
 * best for ever (seen: 0.05–0.07 in every window of 500 followed tasks); a share falling as 1/√n
 * makes the total cost grow like √n while the number of exploratory picks still grows without
 * bound, so every team keeps being tried and a world that changes is still noticed (a 1/n share
 * would explore only logarithmically often and could lock in an early mistake). A request's own
 * exploration_rate is always used as given.
 */
export function defaultExploration(policy: ModePolicy, taskExecutions: number): number {
  if (taskExecutions <= EXPLORATION_FULL_UNTIL) return policy.defaultExploration;
  return policy.defaultExploration * Math.sqrt(EXPLORATION_FULL_UNTIL / taskExecutions);
}
