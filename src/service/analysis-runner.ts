import { setTimeout as sleep } from "node:timers/promises";
import type { DatabasePool } from "slonik";
import { aggregateFindings, type Finding, recentFindings, RULES } from "../learning/insight-rules.js";
import { markAnalysed, readAnalysisDue, tryLockAnalysis } from "../store/analysis-state.js";
import { readCatalog, readTaskEvidence, readTaskTypes } from "../store/evidence.js";
import { applyFindings, readRecentExecutions } from "../store/insights.js";
import type { DueJob } from "./due-scheduler.js";

/** The outcome of one analysis run. */
export interface AnalysisOutcome {
  /** False when another replica was analysing and `tryOnly` was asked. */
  ran: boolean;
  created: number;
  updated: number;
  retired: number;
  executions: bigint;
}

/** How often a manual analysis asks again for the lock another replica's run holds. */
const LOCK_RETRY_MS = 50;

/**
 * Runs pattern analysis over the running aggregates (and a bounded window of recent executions)
 * and publishes the findings as insights, in one transaction under the fleet-wide analysis lock so
 * replicas never duplicate the work and feed positions commit in order. `signal` (a call's
 * deadline) stops it between statements, waiting for the lock included, and rolls it all back.
 */
export async function runAnalysis(
  pool: DatabasePool,
  options: { taskType?: string; tryOnly: boolean; signal?: AbortSignal },
): Promise<AnalysisOutcome> {
  const { signal } = options;
  return pool.transaction(async (tx) => {
    // A blocking lock wait cannot be cut short by the signal: ask again until it is free.
    while (!(await tryLockAnalysis(tx))) {
      if (options.tryOnly) return { ran: false, created: 0, updated: 0, retired: 0, executions: 0n };
      await sleep(LOCK_RETRY_MS, undefined, { signal }).catch(() => signal?.throwIfAborted());
    }
    const taskTypes = options.taskType ? [options.taskType] : await readTaskTypes(tx);
    const catalog = await readCatalog(tx);
    const findings: Finding[] = [];
    let covered = 0n;
    for (const taskType of taskTypes) {
      signal?.throwIfAborted();
      const evidence = await readTaskEvidence(tx, taskType, catalog);
      covered += BigInt(evidence.task.executions);
      const recent = await readRecentExecutions(tx, taskType, 2 * RULES.trendWindow);
      findings.push(...aggregateFindings(evidence), ...recentFindings(evidence, recent));
    }
    signal?.throwIfAborted();
    const applied = await applyFindings(tx, taskTypes, findings);
    // Only a run over every task type resets the automatic schedule.
    if (!options.taskType) await markAnalysed(tx);
    return { ran: true, created: applied.created, updated: applied.updated, retired: applied.retired, executions: covered };
  });
}

/** Automatic analysis, for the DueScheduler. */
export function analysisJob(pool: DatabasePool, learningEnabled: () => Promise<boolean>): DueJob {
  return {
    name: "analysis",
    due: () => readAnalysisDue(pool),
    enabled: learningEnabled,
    async run() {
      const outcome = await runAnalysis(pool, { tryOnly: true });
      return outcome.ran ? { ...outcome, executions: outcome.executions.toString() } : undefined;
    },
  };
}
