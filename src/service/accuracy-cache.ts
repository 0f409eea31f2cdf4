import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import { type Accuracy, readAccuracy } from "../store/accuracy.js";
import { RefreshingCache } from "./refreshing-cache.js";

/** Recommendations that must have recorded outcomes before calibration moves thresholds. */
const MIN_EVALUATED = 30n;

/** How many refresh periods a calibration figure may outlive while its recomputation fails. */
const STALE_FACTOR = 6;

/**
 * The measured calibration of past recommendations, for thresholds on the prediction hot path:
 * it aggregates over the logged history, so it is recomputed in PostgreSQL at most every
 * `maxAgeMs`. A failing recomputation is logged; the last figure keeps serving for at most
 * STALE_FACTOR × `maxAgeMs`, after which callers wait for (and fail with) a fresh read.
 */
export class AccuracyCache {
  readonly #accuracy: RefreshingCache<"accuracy", Accuracy>;

  constructor(pool: DatabasePool, maxAgeMs: number, log: Logger) {
    this.#accuracy = new RefreshingCache({
      // No flush of the recommendation log first: this figure is up to `maxAgeMs` old by design,
      // and the log's queue is about 100 ms behind.
      load: () => readAccuracy(pool),
      refreshAfterMs: maxAgeMs,
      maxStaleMs: STALE_FACTOR * maxAgeMs,
      onRefreshError: (error) =>
        log.warn({ err: error }, "recomputing the calibration of past recommendations failed; serving the previous figure"),
    });
  }

  /**
   * |mean predicted success − observed success| over recommendations whose outcome was recorded:
   * how far the service's probabilities are off; 0 until there are enough outcomes to tell.
   */
  async calibrationGap(): Promise<number> {
    const accuracy = await this.#accuracy.get("accuracy");
    if (accuracy.evaluated < MIN_EVALUATED || accuracy.predicted === null || accuracy.observed === null) return 0;
    return Math.abs(accuracy.predicted - accuracy.observed);
  }
}
