import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import type { Config } from "../config.js";
import type { RetentionPolicy } from "../store/retention.js";
import { type RetentionOutcome, runRetention } from "./retention-run.js";

/** The configured retention policy, or undefined when no limit is set (then nothing is ever deleted). */
export function retentionPolicyOf(config: Pick<Config, "retentionDays" | "retentionMaxRows">): RetentionPolicy | undefined {
  if (config.retentionDays === undefined && config.retentionMaxRows === undefined) return undefined;
  const policy: RetentionPolicy = {};
  if (config.retentionDays !== undefined) policy.maxAgeDays = config.retentionDays;
  if (config.retentionMaxRows !== undefined) policy.maxRows = config.retentionMaxRows;
  return policy;
}

/** When the scheduled retention runs. */
export interface RetentionSchedule {
  /** Time between runs, ms. */
  intervalMs: number;
  /** Executions deleted per statement. */
  batchSize: number;
  /** Pause between batches, ms (default DEFAULT_RETENTION_PAUSE_MS). */
  pauseMs?: number;
}

/** The first run waits at most this long after start, so replicas restarted more often than the interval still run it. */
const FIRST_RUN_MAX_DELAY_MS = 60_000;

/**
 * Runs retention on every replica's schedule (first soon after start, then every interval); the
 * retention lock lets one of them delete while the others skip. Stopping aborts a run between
 * batches, so shutdown never waits for a large backlog.
 */
export class RetentionJob {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  readonly #abort = new AbortController();

  constructor(
    private readonly pool: DatabasePool,
    private readonly policy: RetentionPolicy,
    private readonly schedule: RetentionSchedule,
    private readonly log: Logger,
  ) {}

  /** Starts the schedule. */
  start(): void {
    this.#schedule(Math.min(this.schedule.intervalMs, FIRST_RUN_MAX_DELAY_MS));
  }

  /** Stops the schedule, interrupts a run in progress after its current batch, and waits for it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#tick().finally(() => {
        this.#running = undefined;
        this.#schedule(this.schedule.intervalMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    try {
      const outcome = await runRetention(this.pool, this.policy, {
        batchSize: this.schedule.batchSize,
        ...(this.schedule.pauseMs === undefined ? {} : { pauseMs: this.schedule.pauseMs }),
        signal: this.#abort.signal,
        log: this.log,
      });
      if (outcome.ran && outcome.executions > 0n) this.log.info(describe(outcome, this.policy), "retention deleted executions");
    } catch (error) {
      // The next interval retries; a database outage is already reported by the readiness probe.
      this.log.warn({ err: error }, "retention failed");
    }
  }
}

function describe(outcome: RetentionOutcome, policy: RetentionPolicy): Record<string, unknown> {
  return {
    deleted: Number(outcome.executions),
    batches: outcome.batches,
    interrupted: outcome.interrupted,
    policy,
  };
}
