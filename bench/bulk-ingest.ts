import { create } from "@bufbuild/protobuf";
import { performance } from "node:perf_hooks";
import { type RecordExecutionsRequest, RecordExecutionsRequestSchema } from "../gen/agentlearning/v1/learning_service_pb.js";
import type { ConfigInput } from "../src/config.js";
import type { BenchPostgres } from "./database.js";
import { combineDelays, type LoopDelay, watchEventLoop } from "./event-loop.js";
import { assertExecutionCount, type BenchService, startBenchService } from "./service.js";
import { median } from "./stats.js";
import { toExecutionMessage, type WorldExecution } from "./world.js";

/**
 * The service for an ingest section, with automatic analysis and retraining switched off (as an
 * operator would, with SetLearningMode learning_enabled=false: the thresholds alone still let a
 * first analysis run), so the figures time ingest alone.
 */
export async function startIngestService(url: string, overrides: ConfigInput = {}): Promise<BenchService> {
  const bench = await startBenchService(url, overrides);
  await bench.admin.setLearningMode({ learningEnabled: false });
  return bench;
}

/**
 * The bulk section's per-stream rate cap (20,000 rows/s by default, a guard for a shared service)
 * is lifted, or it, not ingest, would be the figure.
 */
const BULK_CONFIG: ConfigInput = { maxStreamRate: 1_000_000_000 };

/** How the bulk section is run. */
export interface BulkPlan {
  rounds: number;
  /** Executions per stream message. */
  messageSize: number;
}

/** Figures of RecordExecutions over all rounds. */
export interface BulkFigures {
  rows: number;
  messageSize: number;
  /** rows/s per round, in order. */
  roundRowsPerSecond: number[];
  rowsPerSecond: number;
  medianSeconds: number;
  loopDelay: LoopDelay;
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

/**
 * The world's executions as stream messages of `size`, each built when the stream asks for it, as
 * an uploader reading its log would: holding every message up front would put tens of MB of
 * client data in the heap the in-process server collects garbage in, slowing it for nothing.
 */
export async function* messagesOf(executions: readonly WorldExecution[], size: number): AsyncIterable<RecordExecutionsRequest> {
  for (let i = 0; i < executions.length; i += size) {
    yield create(RecordExecutionsRequestSchema, { executions: executions.slice(i, i + size).map(toExecutionMessage) });
  }
}

/**
 * Uploads the same executions through one RecordExecutions client stream per round, each round on
 * a fresh database and server, and times the call from its start to the committed answer. Every
 * row must come back stored (none duplicate, none rejected) and be counted by GetStatus.
 */
export async function measureBulk(postgres: BenchPostgres, executions: readonly WorldExecution[], plan: BulkPlan): Promise<BulkFigures> {
  const rows = executions.length;
  const delays: LoopDelay[] = [];
  const seconds: number[] = [];
  const rssBeforeBytes = process.memoryUsage().rss;
  for (let round = 0; round < plan.rounds; round++) {
    const url = await postgres.freshDatabase(`bulk_r${round}`);
    const bench = await startIngestService(url, BULK_CONFIG);
    try {
      const { result, delay } = await watchEventLoop(async () => {
        const started = performance.now();
        const response = await bench.learning.recordExecutions(messagesOf(executions, plan.messageSize));
        return { response, seconds: (performance.now() - started) / 1_000 };
      });
      delays.push(delay);
      const outcome = result.response.result;
      if (!outcome || outcome.storedCount !== rows || outcome.rejected.length > 0 || outcome.duplicateIds.length > 0) {
        const first = outcome?.rejected[0];
        throw new Error(
          `RecordExecutions stored ${outcome?.storedCount ?? 0} of ${rows} ` +
            `(${outcome?.rejected.length ?? 0} rejected${first ? `, first: ${first.field} ${first.reason}` : ""}, ` +
            `${outcome?.duplicateIds.length ?? 0} duplicates)`,
        );
      }
      seconds.push(result.seconds);
      await assertExecutionCount(bench, rows, `RecordExecutions round ${round + 1}`);
    } finally {
      await bench.stop();
      await postgres.dropDatabase(url);
    }
  }
  const rssAfterBytes = process.memoryUsage().rss;
  const medianSeconds = median(seconds);
  return {
    rows,
    messageSize: plan.messageSize,
    roundRowsPerSecond: seconds.map((s) => rows / s),
    rowsPerSecond: rows / medianSeconds,
    medianSeconds,
    loopDelay: combineDelays(delays),
    rssBeforeBytes,
    rssAfterBytes,
  };
}
