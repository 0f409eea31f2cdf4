import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import type { Config } from "../config.js";
import { AggregateFoldJob } from "../service/aggregate-fold-job.js";
import { analysisJob } from "../service/analysis-runner.js";
import { DueScheduler } from "../service/due-scheduler.js";
import { RetentionJob, retentionPolicyOf } from "../service/retention-job.js";
import { type Retrainer, retrainJob } from "../service/retrainer.js";
import type { Lifecycle } from "./lifecycle.js";

/** What the background jobs work with. */
export interface BackgroundJobParts {
  config: Config;
  pool: DatabasePool;
  log: Logger;
  /** Whether learning is switched on (SetLearningMode learning_enabled). */
  learningEnabled(): Promise<boolean>;
}

/** Analysis whenever enough executions or time have passed (and at start when it never ran). */
export async function startAnalysis(lifecycle: Lifecycle, { config, pool, log, learningEnabled }: BackgroundJobParts): Promise<void> {
  await lifecycle.start(
    "analysis scheduler",
    () => {
      const scheduler = new DueScheduler(
        analysisJob(pool, learningEnabled),
        { everyExecutions: config.analysisEveryExecutions, everyMs: config.analysisIntervalMs, checkMs: 2_000, dueWhenNeverRun: true },
        log,
      );
      scheduler.start();
      return scheduler;
    },
    (scheduler) => scheduler.stop(),
  );
}

/** Retraining whenever enough executions or time have passed (one replica at a time). */
export async function startRetraining(
  lifecycle: Lifecycle,
  retrainer: Retrainer,
  { config, pool, log, learningEnabled }: BackgroundJobParts,
): Promise<void> {
  await lifecycle.start(
    "retrain scheduler",
    () => {
      const scheduler = new DueScheduler(
        retrainJob(pool, retrainer, learningEnabled),
        { everyExecutions: config.retrainEveryExecutions, everyMs: config.retrainIntervalMs, checkMs: 5_000, dueWhenNeverRun: false },
        log,
      );
      scheduler.start();
      return scheduler;
    },
    (scheduler) => scheduler.stop(),
  );
}

/** Deleting history past the retention policy, when one is configured. */
export async function startRetention(lifecycle: Lifecycle, { config, pool, log }: BackgroundJobParts): Promise<void> {
  const policy = retentionPolicyOf(config);
  if (!policy) return;
  await lifecycle.start(
    "retention",
    () => {
      const retention = new RetentionJob(
        pool,
        policy,
        { intervalMs: config.retentionIntervalMs, batchSize: config.retentionBatchSize },
        log,
      );
      retention.start();
      return retention;
    },
    (retention) => retention.stop(),
  );
}

/** Folding the aggregate deltas into their sums (one replica at a time), whatever the learning mode. */
export async function startAggregateFold(lifecycle: Lifecycle, { config, pool, log }: BackgroundJobParts): Promise<void> {
  await lifecycle.start(
    "aggregate fold",
    () => {
      const job = new AggregateFoldJob(pool, config.aggregateFoldMs, log);
      job.start();
      return job;
    },
    (job) => job.stop(),
  );
}
