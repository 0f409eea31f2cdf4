import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import {
  deleteRetentionBatch,
  planRetention,
  type RetentionPolicy,
  type RetentionSummary,
  summarizeRetention,
  tryLockRetention,
  unlockRetention,
} from "../store/retention.js";

/** How a retention run proceeds. */
export interface RetentionRunOptions {
  /** Count what would go and delete nothing. */
  dryRun?: boolean;
  /** Executions deleted per statement. */
  batchSize: number;
  /** Pause between batches, ms: gives ingestion, vacuum and replication room on a large backlog. */
  pauseMs?: number;
  /** Stops the run between batches (shutdown, Ctrl-C); what was deleted stays deleted. */
  signal?: AbortSignal;
  /** Receives one line per batch at debug level. */
  log?: Logger;
}

/** What a retention run did (or, dry, would do). */
export interface RetentionOutcome extends RetentionSummary {
  /** False when another process held the retention lock, so this one did nothing. */
  ran: boolean;
  dryRun: boolean;
  /** Statements that deleted executions. */
  batches: number;
  /** True when the signal stopped the run before the plan was done. */
  interrupted: boolean;
}

/** Default pause between batches, ms. */
export const DEFAULT_RETENTION_PAUSE_MS = 100;

/**
 * Applies a retention policy: fixes the plan once (executions recorded meanwhile are never
 * touched), then deletes it oldest first in batches of `batchSize`, each statement its own short
 * transaction, pausing between them, while holding the fleet-wide retention lock on one session
 * so replicas and the CLI never run it twice at once. A dry run takes no lock and deletes nothing.
 */
export async function runRetention(pool: DatabasePool, policy: RetentionPolicy, options: RetentionRunOptions): Promise<RetentionOutcome> {
  const dryRun = options.dryRun === true;
  const outcome: RetentionOutcome = {
    ran: true,
    dryRun,
    batches: 0,
    interrupted: false,
    executions: 0n,
    oldestRecordedAtUs: null,
    newestRecordedAtUs: null,
  };
  if (dryRun) return { ...outcome, ...(await summarizeRetention(pool, await planRetention(pool, policy))) };
  return pool.connect(async (connection) => {
    if (!(await tryLockRetention(connection))) return { ...outcome, ran: false };
    try {
      const plan = await planRetention(connection, policy);
      let afterSeq = 0n;
      while (plan.lastSeq !== null) {
        if (options.signal?.aborted) {
          outcome.interrupted = true;
          break;
        }
        const batch = await deleteRetentionBatch(connection, plan, afterSeq, options.batchSize);
        if (batch.lastSeq === null) break;
        afterSeq = batch.lastSeq;
        outcome.batches += 1;
        outcome.executions += batch.executions;
        // Sequence order is insertion order; recorded_at may differ slightly between concurrent commits.
        outcome.oldestRecordedAtUs = pick(outcome.oldestRecordedAtUs, batch.oldestRecordedAtUs, (a, b) => a < b);
        outcome.newestRecordedAtUs = pick(outcome.newestRecordedAtUs, batch.newestRecordedAtUs, (a, b) => a > b);
        options.log?.debug({ batch: outcome.batches, deleted: batch.executions, throughSeq: afterSeq }, "retention batch");
        // A short batch was the last one: no pause and no empty statement to find that out.
        if (afterSeq >= plan.lastSeq || batch.executions < BigInt(options.batchSize)) break;
        await pauseUnlessAborted(options.pauseMs ?? DEFAULT_RETENTION_PAUSE_MS, options.signal);
      }
      return outcome;
    } finally {
      await unlockRetention(connection);
    }
  });
}

async function pauseUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return;
  await sleep(ms, undefined, { signal }).catch(() => {});
}

/** The better of two optional instants by `better`, either one when the other is null. */
function pick(current: bigint | null, next: bigint | null, better: (a: bigint, b: bigint) => boolean): bigint | null {
  if (current === null) return next;
  if (next === null) return current;
  return better(next, current) ? next : current;
}
