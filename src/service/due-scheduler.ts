import type { Logger } from "pino";

/** When a periodic job is due. */
export interface DueRule {
  /** Run once this many executions arrived since the last run (fleet-wide). */
  everyExecutions: number;
  /** Run at least this often while anything new arrives, ms. */
  everyMs: number;
  /** How often to check, ms. */
  checkMs: number;
  /** Whether a job that never ran is due by time (cheap jobs) or only by count (training). */
  dueWhenNeverRun: boolean;
}

/** What the scheduler needs from a job. */
export interface DueJob {
  name: string;
  /** New executions since the job last ran, and how long ago that was (null: never). */
  due(): Promise<{ newExecutions: bigint; sinceLastRunMs: number | null }>;
  /** Whether the job may run at all now (e.g. learning switched on). */
  enabled(): Promise<boolean>;
  /** Runs it; returns what to log, or undefined when another replica had it. */
  run(): Promise<Record<string, unknown> | undefined>;
}

/**
 * Runs a job automatically every N executions or T ms, whichever comes first. Every replica
 * checks; the job's own advisory lock lets one of them run it and the others skip.
 */
export class DueScheduler {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly job: DueJob,
    private readonly rule: DueRule,
    private readonly log: Logger,
  ) {}

  /** Starts checking. */
  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.#check().finally(() => {
        this.#running = undefined;
      });
    }, this.rule.checkMs);
    this.#timer.unref();
  }

  /** Stops checking and waits for a run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async #check(): Promise<void> {
    try {
      const due = await this.job.due();
      if (due.newExecutions <= 0n) return;
      const byCount = due.newExecutions >= BigInt(this.rule.everyExecutions);
      const byTime = due.sinceLastRunMs === null ? this.rule.dueWhenNeverRun : due.sinceLastRunMs >= this.rule.everyMs;
      if (!byCount && !byTime) return;
      if (!(await this.job.enabled())) return;
      const outcome = await this.job.run();
      if (outcome) this.log.info(outcome, `automatic ${this.job.name}`);
    } catch (error) {
      // The next tick retries; a database outage is already reported by the readiness probe.
      this.log.warn({ err: error }, `automatic ${this.job.name} failed`);
    }
  }
}
