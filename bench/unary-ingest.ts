import { startIngestService } from "./bulk-ingest.js";
import type { BenchPostgres } from "./database.js";
import { combineDelays, type LoopDelay, watchEventLoop } from "./event-loop.js";
import { runClosedLoop } from "./load.js";
import { noopCall } from "./noop-rpc.js";
import { assertExecutionCount, type BenchService } from "./service.js";
import { median, medianFigures, type RunFigures } from "./stats.js";
import { toExecutionMessage, worldExecution } from "./world.js";

/** How the unary section is run. */
export interface UnaryPlan {
  concurrencies: readonly number[];
  rounds: number;
  noopMs: number;
  recordMs: number;
  warmupMs: number;
  seed: number;
}

/** Figures of one concurrency level: the no-op baseline and RecordExecution on the same server. */
export interface UnaryLevel {
  concurrency: number;
  noop: RunFigures;
  record: RunFigures;
  /** Each round's figures, for the JSON summary. */
  noopRounds: RunFigures[];
  recordRounds: RunFigures[];
  /** RecordExecution calls/s over no-op calls/s (median of the per-round ratios). */
  throughputRatio: number;
  /** RecordExecution p50 minus no-op p50, µs (median of the per-round differences). */
  p50OverheadUs: number;
  loopDelayNoop: LoopDelay;
  loopDelayRecord: LoopDelay;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** Executions acknowledged (warm-up included) and confirmed by GetStatus. */
  executionsAcknowledged: number;
}

/**
 * One RecordExecution of a distinct, realistic execution per call; a `duplicate` answer would mean
 * the ids collided, which would flatter the figures, so it fails the run.
 */
function recordCall(bench: BenchService, seed: number, idPrefix: string, acknowledged: { count: number }) {
  return async (n: number) => {
    const execution = toExecutionMessage(worldExecution(seed, idPrefix, n));
    const response = await bench.learning.recordExecution({ execution });
    if (response.duplicate) throw new Error(`execution ${execution.executionId} was reported as a duplicate`);
    acknowledged.count++;
  };
}

/**
 * Measures the no-op RPC and RecordExecution at each concurrency, alternating them round by round
 * on one server and a fresh database per level, so both see the same machine state and the ratio
 * is taken between neighbours in time.
 */
export async function measureUnary(postgres: BenchPostgres, plan: UnaryPlan): Promise<UnaryLevel[]> {
  const levels: UnaryLevel[] = [];
  for (const concurrency of plan.concurrencies) {
    const url = await postgres.freshDatabase(`unary_c${concurrency}`);
    const bench = await startIngestService(url);
    try {
      levels.push(await measureLevel(bench, plan, concurrency));
    } finally {
      await bench.stop();
      await postgres.dropDatabase(url);
    }
  }
  return levels;
}

async function measureLevel(bench: BenchService, plan: UnaryPlan, concurrency: number): Promise<UnaryLevel> {
  const acknowledged = { count: 0 };
  const rssBeforeBytes = process.memoryUsage().rss;
  // Warm-up: JIT, HTTP/2 streams, pool connections, the agent catalog cache.
  await runClosedLoop({ concurrency, durationMs: plan.warmupMs / 2, call: noopCall(bench) });
  await runClosedLoop({ concurrency, durationMs: plan.warmupMs, call: recordCall(bench, plan.seed, `u${concurrency}w`, acknowledged) });

  const noopDelays: LoopDelay[] = [];
  const recordDelays: LoopDelay[] = [];
  const noopRounds: RunFigures[] = [];
  const recordRounds: RunFigures[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    const noop = await watchEventLoop(() => runClosedLoop({ concurrency, durationMs: plan.noopMs, call: noopCall(bench) }));
    noopRounds.push(noop.result);
    noopDelays.push(noop.delay);
    const call = recordCall(bench, plan.seed, `u${concurrency}r${round}`, acknowledged);
    const record = await watchEventLoop(() => runClosedLoop({ concurrency, durationMs: plan.recordMs, call }));
    recordRounds.push(record.result);
    recordDelays.push(record.delay);
  }
  const rssAfterBytes = process.memoryUsage().rss;
  await assertExecutionCount(bench, acknowledged.count, `RecordExecution c=${concurrency}`);

  const noop = medianFigures(noopRounds);
  const record = medianFigures(recordRounds);
  return {
    concurrency,
    noop,
    record,
    noopRounds,
    recordRounds,
    // Per round, then the median: each ratio compares runs that were neighbours in time.
    throughputRatio: median(recordRounds.map((r, i) => r.callsPerSecond / (noopRounds[i]?.callsPerSecond ?? Number.NaN))),
    p50OverheadUs: median(recordRounds.map((r, i) => r.p50Us - (noopRounds[i]?.p50Us ?? Number.NaN))),
    loopDelayNoop: combineDelays(noopDelays),
    loopDelayRecord: combineDelays(recordDelays),
    rssBeforeBytes,
    rssAfterBytes,
    executionsAcknowledged: acknowledged.count,
  };
}
