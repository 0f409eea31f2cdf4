import type { DatabasePool } from "slonik";
import { type Accuracy, readAccuracy } from "../store/accuracy.js";
import { TtlCache } from "./ttl-cache.js";

/** Recommendations that must have recorded outcomes before calibration moves thresholds. */
const MIN_EVALUATED = 30n;

/**
 * The measured calibration of past recommendations, for thresholds on the prediction hot path:
 * it aggregates over the logged history, so it is recomputed in PostgreSQL at most every
 * `maxAgeMs`.
 */
export class AccuracyCache {
  readonly #accuracy: TtlCache<Accuracy>;

  constructor(pool: DatabasePool, maxAgeMs: number) {
    this.#accuracy = new TtlCache(() => readAccuracy(pool), maxAgeMs);
  }

  /**
   * |mean predicted success − observed success| over recommendations whose outcome was recorded:
   * how far the service's probabilities are off; 0 until there are enough outcomes to tell.
   */
  async calibrationGap(): Promise<number> {
    const accuracy = await this.#accuracy.get();
    if (accuracy.evaluated < MIN_EVALUATED || accuracy.predicted === null || accuracy.observed === null) return 0;
    return Math.abs(accuracy.predicted - accuracy.observed);
  }
}
