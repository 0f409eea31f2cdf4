import { create } from "@bufbuild/protobuf";
import { performance } from "node:perf_hooks";
import { ModelKind, ModelStatus } from "../gen/agentlearning/v1/admin_service_pb.js";
import { EstimateSource } from "../gen/agentlearning/v1/learning_pb.js";
import { type PredictAgentsRequest, PredictAgentsRequestSchema } from "../gen/agentlearning/v1/learning_service_pb.js";
import type { ConfigInput } from "../src/config.js";
import { messagesOf } from "./bulk-ingest.js";
import type { BenchPostgres } from "./database.js";
import { combineDelays, type LoopDelay, watchEventLoop } from "./event-loop.js";
import { runClosedLoop } from "./load.js";
import { noopCall } from "./noop-rpc.js";
import { assertExecutionCount, type BenchClients, type BenchService, startBenchService } from "./service.js";
import { median, medianFigures, type RunFigures } from "./stats.js";
import { worldExecution } from "./world.js";

/** How the predict section is run. */
export interface PredictPlan {
  concurrencies: readonly number[];
  rounds: number;
  noopMs: number;
  predictMs: number;
  warmupMs: number;
  /** Executions recorded before the first measurement (and trained on by the first Retrain). */
  executions: number;
  /** Executions added before the measurements during retraining, so each retrain has new work. */
  extraExecutions: number;
  /** Length of each idle and each during-retrain window; retrains run back to back through it. */
  retrainWindowMs: number;
  retrainRounds: number;
  seed: number;
}

/** Automatic analysis and retraining out of the way: the section starts both jobs itself. */
export const PREDICT_CONFIG: ConfigInput = {
  retrainEveryExecutions: 1_000_000_000,
  retrainIntervalMs: 1_000_000_000,
  analysisEveryExecutions: 1_000_000_000,
  analysisIntervalMs: 1_000_000_000,
};

/** Which estimate source answered, by the first recommendation of each answer ("none": empty answer). */
export type SourceCounts = Record<string, number>;

/** PredictAgents against the no-op at one concurrency, in one serving state. */
export interface PredictLevel {
  concurrency: number;
  noop: RunFigures;
  predict: RunFigures;
  noopRounds: RunFigures[];
  predictRounds: RunFigures[];
  /** PredictAgents p50 over no-op p50 (median of the per-round ratios). */
  p50Ratio: number;
  /** PredictAgents calls/s over no-op calls/s (median of the per-round ratios). */
  throughputRatio: number;
  loopDelay: LoopDelay;
  sources: SourceCounts;
}

/** PredictAgents idle and while retrains run back to back, at one concurrency. */
export interface RetrainLoad {
  concurrency: number;
  idle: RunFigures;
  during: RunFigures;
  idleRounds: RunFigures[];
  duringRounds: RunFigures[];
  /** During-retrain p99 over idle p99 (median of the per-round ratios). */
  p99Ratio: number;
  idleLoop: LoopDelay;
  duringLoop: LoopDelay;
  /** Retrain RPCs that ran in the windows, and their durations (s), as the client saw them. */
  retrainSeconds: number[];
  sources: SourceCounts;
}

/** What the section measured. */
export interface PredictFigures {
  executions: number;
  executionsAtEnd: number;
  /** The first Retrain: its duration as the client saw it, and what the gate said. */
  firstRetrainSeconds: number;
  firstRetrainModels: { version: string; kind: string; status: string; reason: string }[];
  statistical: PredictLevel[];
  model: PredictLevel[];
  /** Diagnostic: the model serving, c=1, every request at FIXED_COMPLEXITY (the ranking cache can hit). */
  modelFixedComplexity: PredictLevel[];
  duringRetrain: RetrainLoad[];
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

const REQUEST_POOL = 512;

/**
 * PredictAgents requests shaped like the world's tasks (task type and complexity, two decimals),
 * made up front; with `complexity` set, every request has that complexity instead.
 */
export function predictRequests(seed: number, complexity?: number): PredictAgentsRequest[] {
  return Array.from({ length: REQUEST_POOL }, (_, i) => {
    const task = worldExecution(seed + 1, "q", i);
    return create(PredictAgentsRequestSchema, { taskType: task.taskType, complexity: complexity ?? task.complexity });
  });
}

/** The one complexity of the diagnostic run at c=1 (the world's typical task). */
export const FIXED_COMPLEXITY = 2;

/** One PredictAgents per call from the pool, counting which estimate source answered. */
export function predictCall(
  bench: Pick<BenchClients, "learning">,
  requests: readonly PredictAgentsRequest[],
  sources: SourceCounts,
): (n: number) => Promise<void> {
  return async (n) => {
    const request = requests[n % requests.length]!;
    const response = await bench.learning.predictAgents(request);
    const first = response.recommendations[0];
    const source = first ? (EstimateSource[first.source] ?? String(first.source)) : "none";
    sources[source] = (sources[source] ?? 0) + 1;
  };
}

async function record(bench: BenchService, seed: number, from: number, count: number): Promise<void> {
  const executions = Array.from({ length: count }, (_, i) => worldExecution(seed, "p", from + i));
  const response = await bench.learning.recordExecutions(messagesOf(executions, 500));
  const stored = response.result?.storedCount ?? 0;
  if (stored !== count) throw new Error(`RecordExecutions stored ${stored} of ${count} executions`);
}

/** No-op and PredictAgents alternating round by round at each concurrency, as the unary section does. */
async function measureLevels(bench: BenchService, plan: PredictPlan, requests: readonly PredictAgentsRequest[]): Promise<PredictLevel[]> {
  const levels: PredictLevel[] = [];
  for (const concurrency of plan.concurrencies) {
    const sources: SourceCounts = {};
    await runClosedLoop({ concurrency, durationMs: plan.warmupMs / 2, call: noopCall(bench) });
    await runClosedLoop({ concurrency, durationMs: plan.warmupMs, call: predictCall(bench, requests, {}) });
    const noopRounds: RunFigures[] = [];
    const predictRounds: RunFigures[] = [];
    const delays: LoopDelay[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      noopRounds.push(await runClosedLoop({ concurrency, durationMs: plan.noopMs, call: noopCall(bench) }));
      const measured = await watchEventLoop(() =>
        runClosedLoop({ concurrency, durationMs: plan.predictMs, call: predictCall(bench, requests, sources) }),
      );
      predictRounds.push(measured.result);
      delays.push(measured.delay);
    }
    levels.push({
      concurrency,
      noop: medianFigures(noopRounds),
      predict: medianFigures(predictRounds),
      noopRounds,
      predictRounds,
      p50Ratio: median(predictRounds.map((r, i) => r.p50Us / (noopRounds[i]?.p50Us ?? Number.NaN))),
      throughputRatio: median(predictRounds.map((r, i) => r.callsPerSecond / (noopRounds[i]?.callsPerSecond ?? Number.NaN))),
      loopDelay: combineDelays(delays),
      sources,
    });
  }
  return levels;
}

/**
 * PredictAgents idle for a window, then for the same window while Retrain RPCs run back to back
 * (training, the parity check and storage in the retrain child process, then the hot swap in this process),
 * at each concurrency; the last retrain is awaited outside the window.
 */
async function measureDuringRetrain(
  bench: BenchService,
  plan: PredictPlan,
  requests: readonly PredictAgentsRequest[],
): Promise<RetrainLoad[]> {
  const loads: RetrainLoad[] = [];
  for (const concurrency of plan.concurrencies) {
    const sources: SourceCounts = {};
    const idleRounds: RunFigures[] = [];
    const duringRounds: RunFigures[] = [];
    const idleDelays: LoopDelay[] = [];
    const duringDelays: LoopDelay[] = [];
    const retrainSeconds: number[] = [];
    for (let round = 0; round < plan.retrainRounds; round++) {
      const idle = await watchEventLoop(() =>
        runClosedLoop({ concurrency, durationMs: plan.retrainWindowMs, call: predictCall(bench, requests, {}) }),
      );
      idleRounds.push(idle.result);
      idleDelays.push(idle.delay);
      let stop = false;
      const retrains = (async () => {
        while (!stop) {
          const t0 = performance.now();
          await bench.admin.retrain({ force: true });
          retrainSeconds.push((performance.now() - t0) / 1000);
        }
      })();
      // A retrain that fails ends the loop early; its error surfaces below, after the window.
      retrains.catch(() => {
        stop = true;
      });
      const during = await watchEventLoop(() =>
        runClosedLoop({ concurrency, durationMs: plan.retrainWindowMs, call: predictCall(bench, requests, sources) }),
      );
      stop = true;
      await retrains;
      duringRounds.push(during.result);
      duringDelays.push(during.delay);
    }
    loads.push({
      concurrency,
      idle: medianFigures(idleRounds),
      during: medianFigures(duringRounds),
      idleRounds,
      duringRounds,
      p99Ratio: median(duringRounds.map((r, i) => r.p99Us / (idleRounds[i]?.p99Us ?? Number.NaN))),
      idleLoop: combineDelays(idleDelays),
      duringLoop: combineDelays(duringDelays),
      retrainSeconds,
      sources,
    });
  }
  return loads;
}

/**
 * The whole section on one server and a fresh database: record the world's executions, run
 * analysis once (so its never-run trigger cannot fire mid-measurement), measure PredictAgents
 * against the no-op with statistical estimates, Retrain, measure again with the model serving,
 * then add executions and measure PredictAgents while retrains run.
 */
export async function measurePredict(
  postgres: BenchPostgres,
  plan: PredictPlan,
  progress: (message: string) => void,
): Promise<PredictFigures> {
  const url = await postgres.freshDatabase("predict");
  const bench = await startBenchService(url, PREDICT_CONFIG);
  try {
    const rssBeforeBytes = process.memoryUsage().rss;
    const requests = predictRequests(plan.seed);
    await record(bench, plan.seed, 0, plan.executions);
    await bench.admin.analyze({});
    await assertExecutionCount(bench, plan.executions, "predict: recording");

    progress(`predict: PredictAgents with statistical estimates (no model) at concurrencies ${plan.concurrencies.join(", ")}`);
    const statistical = await measureLevels(bench, plan, requests);

    progress(`predict: Retrain on ${plan.executions} executions`);
    const t0 = performance.now();
    const retrained = await bench.admin.retrain({ force: true });
    const firstRetrainSeconds = (performance.now() - t0) / 1000;
    const firstRetrainModels = retrained.models.map((m) => ({
      version: m.version,
      kind: ModelKind[m.kind] ?? String(m.kind),
      status: ModelStatus[m.status] ?? String(m.status),
      reason: m.rejectionReason,
    }));

    progress(`predict: PredictAgents with the model serving at concurrencies ${plan.concurrencies.join(", ")}`);
    const model = await measureLevels(bench, plan, requests);
    progress(`predict: PredictAgents with the model serving, c=1, every request at complexity ${FIXED_COMPLEXITY}`);
    const modelFixedComplexity = await measureLevels(bench, { ...plan, concurrencies: [1] }, predictRequests(plan.seed, FIXED_COMPLEXITY));

    progress(`predict: ${plan.extraExecutions} more executions, then PredictAgents idle vs during back-to-back Retrains`);
    await record(bench, plan.seed, plan.executions, plan.extraExecutions);
    const duringRetrain = await measureDuringRetrain(bench, plan, requests);
    const executionsAtEnd = plan.executions + plan.extraExecutions;
    await assertExecutionCount(bench, executionsAtEnd, "predict");
    return {
      executions: plan.executions,
      executionsAtEnd,
      firstRetrainSeconds,
      firstRetrainModels,
      statistical,
      model,
      modelFixedComplexity,
      duringRetrain,
      rssBeforeBytes,
      rssAfterBytes: process.memoryUsage().rss,
    };
  } finally {
    await bench.stop();
    await postgres.dropDatabase(url);
  }
}
