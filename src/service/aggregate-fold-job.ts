import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import { foldAggregateDeltas, vacuumAggregateDeltas } from "../store/execution-aggregates.js";

/** Deltas folded per transaction: bounds how long one fold holds its locks and how much it rewrites at once. */
export const FOLD_SLICE = 20_000;

/** Deltas folded (so left dead) after which the delta table is vacuumed, about a megabyte of dead rows. */
const VACUUM_AFTER = 10_000;

/**
 * Folds the aggregate deltas ingest appends into the aggregate sums, on every replica's timer;
 * the fold lock lets one replica fold while the others skip. Reads stay exact whatever the delay
 * (the aggregate views add the deltas not yet folded), so the interval only bounds how many
 * deltas a read adds up. A backlog is folded slice after slice until none is left.
 */
export class AggregateFoldJob {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Whether the last tick failed: an outage is logged once when it starts and once when it ends, not every tick. */
  #failing = false;
  /** Deltas this replica folded since it last vacuumed the delta table. */
  #deadSinceVacuum = 0;

  constructor(
    private readonly pool: DatabasePool,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Starts the timer. */
  start(): void {
    this.#schedule();
  }

  /** Stops the timer and waits for a fold in progress (its transaction is short). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#tick().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, this.intervalMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    try {
      for (let folded = FOLD_SLICE; folded === FOLD_SLICE && !this.#stopped; ) {
        folded = await foldAggregateDeltas(this.pool, FOLD_SLICE);
        this.#deadSinceVacuum += folded;
      }
      if (this.#deadSinceVacuum >= VACUUM_AFTER) {
        await vacuumAggregateDeltas(this.pool);
        this.#deadSinceVacuum = 0;
      }
      if (this.#failing) this.log.info("folding aggregate deltas works again");
      this.#failing = false;
    } catch (error) {
      // The next tick retries; the deltas stay, and reads still count them.
      if (!this.#failing) this.log.warn({ err: error }, "folding aggregate deltas failed; retrying every interval");
      this.#failing = true;
    }
  }
}
