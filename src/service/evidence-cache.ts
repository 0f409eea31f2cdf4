import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import type { TaskEvidence } from "../learning/evidence.js";
import { readTaskEvidence } from "../store/evidence.js";
import { RefreshingCache } from "./refreshing-cache.js";

/**
 * How many refresh periods a task type's evidence may be served while its next read runs or
 * fails: with the default 1 s, no answer rests on evidence more than 5 s old.
 */
export const EVIDENCE_STALE_FACTOR = 5;

/**
 * Per-task-type evidence for the prediction hot path, read from the aggregates: a prediction costs
 * no SQL and does not wait while its task type's snapshot is younger than
 * EVIDENCE_STALE_FACTOR × `maxAgeMs`; once it is `maxAgeMs` old, one shared read refreshes it in
 * the background. Older than the bound, callers wait for the read (0: every get reads).
 */
export class EvidenceCache {
  readonly #cache: RefreshingCache<string, TaskEvidence>;

  constructor(
    pool: DatabasePool,
    maxAgeMs: number,
    log: Logger,
    /** Bound on cached task types; the least recently used is dropped first. */
    maxEntries = 1000,
  ) {
    this.#cache = new RefreshingCache({
      load: (taskType) => readTaskEvidence(pool, taskType),
      refreshAfterMs: maxAgeMs,
      maxStaleMs: EVIDENCE_STALE_FACTOR * maxAgeMs,
      maxEntries,
      // Rankings, candidates and model scores are memoized per snapshot object: an unchanged
      // snapshot is kept, so a quiet task type does not rebuild them every `maxAgeMs`.
      unchanged,
      onRefreshError: (error, taskType) =>
        log.warn({ err: error, taskType }, "re-reading a task type's evidence failed; serving the previous snapshot"),
    });
  }

  /** Evidence of one task type. */
  get(taskType: string): Promise<TaskEvidence> {
    return this.#cache.get(taskType);
  }
}

/**
 * Whether a fresh read says nothing new: a task type's aggregates change only when executions of
 * it are recorded (which moves its count), and agents are only ever added to the catalog.
 */
function unchanged(previous: TaskEvidence, read: TaskEvidence): boolean {
  return previous.task.executions === read.task.executions && previous.catalog.length === read.catalog.length;
}
