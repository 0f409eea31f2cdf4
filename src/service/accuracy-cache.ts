import type { DatabasePool } from "slonik";
import { type Accuracy, readAccuracy } from "../store/accuracy.js";

/** Recommendations that must have recorded outcomes before calibration moves thresholds. */
const MIN_EVALUATED = 30n;

/**
 * The measured calibration of past recommendations, for thresholds on the prediction hot path:
 * recomputed in PostgreSQL at most every `maxAgeMs` (it aggregates over the logged history).
 */
export class AccuracyCache {
  #value: Accuracy | undefined;
  #loadedAt = 0;
  #loading: Promise<Accuracy> | undefined;

  constructor(
    private readonly pool: DatabasePool,
    private readonly maxAgeMs: number,
  ) {}

  /**
   * |mean predicted success − observed success| over recommendations whose outcome was recorded:
   * how far the service's probabilities are off; 0 until there are enough outcomes to tell.
   */
  async calibrationGap(): Promise<number> {
    const accuracy = await this.#get();
    if (accuracy.evaluated < MIN_EVALUATED || accuracy.predicted === null || accuracy.observed === null) return 0;
    return Math.abs(accuracy.predicted - accuracy.observed);
  }

  async #get(): Promise<Accuracy> {
    if (this.#value && Date.now() - this.#loadedAt < this.maxAgeMs) return this.#value;
    if (this.#value) {
      // Serve the previous figure while one refresh runs.
      this.#refresh().catch(() => undefined);
      return this.#value;
    }
    return this.#refresh();
  }

  #refresh(): Promise<Accuracy> {
    this.#loading ??= readAccuracy(this.pool)
      .then((value) => {
        this.#value = value;
        this.#loadedAt = Date.now();
        return value;
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }
}
