import type { DatabasePool } from "slonik";
import type { TaskEvidence } from "../learning/evidence.js";
import { readTaskEvidence } from "../store/evidence.js";

/**
 * Per-task-type evidence for the prediction hot path, read from the aggregates at most once every
 * `maxAgeMs` per task type: a prediction costs no SQL while its task type's entry is younger than
 * that, and waits for one shared refresh when it is older, so no answer rests on evidence more
 * than `maxAgeMs` old (0: always read).
 */
export class EvidenceCache {
  readonly #entries = new Map<string, { evidence: TaskEvidence; loadedAt: number }>();
  readonly #loading = new Map<string, Promise<TaskEvidence>>();

  constructor(
    private readonly pool: DatabasePool,
    private readonly maxAgeMs: number,
    /** Bound on cached task types; the least recently loaded is dropped first. */
    private readonly maxEntries = 1000,
  ) {}

  /** Evidence of one task type. */
  async get(taskType: string): Promise<TaskEvidence> {
    const entry = this.#entries.get(taskType);
    if (entry && Date.now() - entry.loadedAt < this.maxAgeMs) return entry.evidence;
    return this.#load(taskType);
  }

  #load(taskType: string): Promise<TaskEvidence> {
    let loading = this.#loading.get(taskType);
    if (!loading) {
      loading = readTaskEvidence(this.pool, taskType)
        .then((read) => {
          // Rankings, candidates and model scores are memoized per snapshot object: an unchanged
          // snapshot is kept, so a quiet task type does not rebuild them every `maxAgeMs`.
          const previous = this.#entries.get(taskType)?.evidence;
          const evidence = previous && unchanged(previous, read) ? previous : read;
          this.#entries.delete(taskType);
          this.#entries.set(taskType, { evidence, loadedAt: Date.now() });
          if (this.#entries.size > this.maxEntries) {
            const oldest = this.#entries.keys().next().value;
            if (oldest !== undefined) this.#entries.delete(oldest);
          }
          return evidence;
        })
        .finally(() => this.#loading.delete(taskType));
      this.#loading.set(taskType, loading);
    }
    return loading;
  }
}

/**
 * Whether a fresh read says nothing new: a task type's aggregates change only when executions of
 * it are recorded (which moves its count), and agents are only ever added to the catalog.
 */
function unchanged(previous: TaskEvidence, read: TaskEvidence): boolean {
  return previous.task.executions === read.task.executions && previous.catalog.length === read.catalog.length;
}
