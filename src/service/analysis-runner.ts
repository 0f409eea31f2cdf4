import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import { aggregateFindings, type Finding, recentFindings, RULES } from "../learning/insight-rules.js";
import { lockAnalysis, markAnalysed, readAnalysisDue } from "../store/analysis-state.js";
import { readCatalog, readTaskEvidence, readTaskTypes } from "../store/evidence.js";
import { applyFindings, readRecentExecutions } from "../store/insights.js";

/** The outcome of one analysis run. */
export interface AnalysisOutcome {
  /** False when another replica was analysing and `tryOnly` was asked. */
  ran: boolean;
  created: number;
  updated: number;
  retired: number;
  executions: bigint;
}

/**
 * Runs pattern analysis over the running aggregates (and a bounded window of recent executions)
 * and publishes the findings as insights, in one transaction under the fleet-wide analysis lock so
 * replicas never duplicate the work and feed positions commit in order.
 */
export async function runAnalysis(pool: DatabasePool, options: { taskType?: string; tryOnly: boolean }): Promise<AnalysisOutcome> {
  return pool.transaction(async (tx) => {
    if (!(await lockAnalysis(tx, options.tryOnly))) return { ran: false, created: 0, updated: 0, retired: 0, executions: 0n };
    const taskTypes = options.taskType ? [options.taskType] : await readTaskTypes(tx);
    const catalog = await readCatalog(tx);
    const findings: Finding[] = [];
    for (const taskType of taskTypes) {
      const evidence = await readTaskEvidence(tx, taskType, catalog);
      const recent = await readRecentExecutions(tx, taskType, 2 * RULES.trendWindow);
      findings.push(...aggregateFindings(evidence), ...recentFindings(evidence, recent));
    }
    const applied = await applyFindings(tx, taskTypes, findings);
    const executions = await markAnalysed(tx);
    return { ran: true, created: applied.created, updated: applied.updated, retired: applied.retired, executions };
  });
}

/** When automatic analysis runs. */
export interface AnalysisSchedule {
  /** Run once this many executions arrived since the last run (fleet-wide). */
  everyExecutions: number;
  /** Run at least this often when anything new arrived, ms. */
  everyMs: number;
  /** How often to check, ms. */
  checkMs: number;
}

/**
 * Runs analysis automatically every N executions or T ms, whichever comes first. Every replica
 * checks; the advisory lock lets one of them run it, the others skip.
 */
export class AnalysisScheduler {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly pool: DatabasePool,
    private readonly schedule: AnalysisSchedule,
    private readonly learningEnabled: () => Promise<boolean>,
    private readonly log: Logger,
  ) {}

  /** Starts checking. */
  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.#check().finally(() => {
        this.#running = undefined;
      });
    }, this.schedule.checkMs);
    this.#timer.unref();
  }

  /** Stops checking and waits for a run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async #check(): Promise<void> {
    try {
      const due = await readAnalysisDue(this.pool);
      if (due.newExecutions <= 0n) return;
      const byCount = due.newExecutions >= BigInt(this.schedule.everyExecutions);
      const byTime = due.sinceLastRunMs === null || due.sinceLastRunMs >= this.schedule.everyMs;
      if (!byCount && !byTime) return;
      if (!(await this.learningEnabled())) return;
      const outcome = await runAnalysis(this.pool, { tryOnly: true });
      if (outcome.ran) this.log.info({ ...outcome, executions: outcome.executions.toString() }, "automatic analysis");
    } catch (error) {
      // The next tick retries; a database outage is already reported by the readiness probe.
      this.log.warn({ err: error }, "automatic analysis failed");
    }
  }
}
