import { ModelKind } from "../gen/agentlearning/v1/admin_service_pb.js";
import { ChallengerMode } from "../gen/agentlearning/v1/rollout_pb.js";
import { messagesOf } from "./bulk-ingest.js";
import type { BenchPostgres } from "./database.js";
import { runClosedLoop } from "./load.js";
import { PREDICT_CONFIG, predictCall, predictRequests } from "./predict.js";
import { assertExecutionCount, startBenchService } from "./service.js";
import { formatMicros, median, medianFigures, type RunFigures } from "./stats.js";
import { ratio, table } from "./table.js";
import { worldExecution } from "./world.js";
import { measureShadowInProcess, type ShadowInProcess } from "./shadow-in-process.js";

/** How the shadow section is run. */
export interface ShadowPlan {
  /** Executions before the first training; as many again before the second (the challenger). */
  executions: number;
  rounds: number;
  predictMs: number;
  warmupMs: number;
  seed: number;
}

/** PredictAgents served by a model at c=1, without and with a shadow challenger scored on every call. */
export interface ShadowFigures {
  executions: number;
  without: RunFigures;
  with: RunFigures;
  /** With-shadow p50 over without p50 (median of the per-round ratios). */
  p50Ratio: number;
  /** Median per-round difference of p50, µs: what shadow scoring adds to a call through the server. */
  addedP50Us: number;
  /** The same cost in process, without the server's noise. */
  inProcess: ShadowInProcess;
}

/**
 * Trains two model pairs on the world's executions, serves the first, and measures PredictAgents at
 * c=1 in alternating rounds: no rollout, then the second success version in shadow (SetChallenger
 * and ClearChallenger between rounds). The shadow's model scores are memoised like the champion's,
 * so after warm-up the added cost is a second ranking and π draw plus a larger decision row.
 */
export async function measureShadow(
  postgres: BenchPostgres,
  plan: ShadowPlan,
  progress: (message: string) => void,
): Promise<ShadowFigures> {
  progress("shadow: ranking and shadow scoring in process");
  const inProcess = await measureShadowInProcess(plan.executions, plan.seed);
  const url = await postgres.freshDatabase("shadow");
  const bench = await startBenchService(url, PREDICT_CONFIG);
  try {
    const record = async (from: number) => {
      const executions = Array.from({ length: plan.executions }, (_, i) => worldExecution(plan.seed, "s", from + i));
      await bench.learning.recordExecutions(messagesOf(executions, 500));
    };
    progress(`shadow: two trainings on ${plan.executions} and ${2 * plan.executions} executions`);
    await record(0);
    const first = (await bench.admin.retrain({ force: true })).models.find((m) => m.kind === ModelKind.SUCCESS);
    await record(plan.executions);
    const second = (await bench.admin.retrain({ force: true })).models.find((m) => m.kind === ModelKind.SUCCESS);
    if (!first || !second) throw new Error("shadow: a retraining produced no success model");
    await bench.admin.activateModel({ version: first.version });
    await assertExecutionCount(bench, 2 * plan.executions, "shadow: recording");
    const requests = predictRequests(plan.seed);
    const call = predictCall(bench, requests, {});
    const shadowOn = () => bench.admin.setChallenger({ version: second.version, mode: ChallengerMode.SHADOW });
    progress("shadow: PredictAgents without and with a shadow challenger, c=1");
    await shadowOn();
    await runClosedLoop({ concurrency: 1, durationMs: plan.warmupMs, call });
    await bench.admin.clearChallenger({});
    await runClosedLoop({ concurrency: 1, durationMs: plan.warmupMs, call });
    const without: RunFigures[] = [];
    const withShadow: RunFigures[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      without.push(await runClosedLoop({ concurrency: 1, durationMs: plan.predictMs, call }));
      await shadowOn();
      withShadow.push(await runClosedLoop({ concurrency: 1, durationMs: plan.predictMs, call }));
      await bench.admin.clearChallenger({});
    }
    return {
      executions: 2 * plan.executions,
      without: medianFigures(without),
      with: medianFigures(withShadow),
      p50Ratio: median(withShadow.map((r, i) => r.p50Us / (without[i]?.p50Us ?? Number.NaN))),
      addedP50Us: median(withShadow.map((r, i) => r.p50Us - (without[i]?.p50Us ?? Number.NaN))),
      inProcess,
    };
  } finally {
    await bench.stop();
    await postgres.dropDatabase(url);
  }
}

/** The section's part of the report. */
export function renderShadow(f: ShadowFigures): string {
  return [
    `Shadow scoring: PredictAgents served by a model (${f.executions} executions), c=1, without and with a shadow challenger`,
    table(
      ["", "p50", "p99", "calls/s"],
      [
        ["no challenger", formatMicros(f.without.p50Us), formatMicros(f.without.p99Us), f.without.callsPerSecond.toFixed(0)],
        ["shadow", formatMicros(f.with.p50Us), formatMicros(f.with.p99Us), f.with.callsPerSecond.toFixed(0)],
      ],
    ),
    `shadow scoring adds ${formatMicros(f.addedP50Us)} to the p50 (ratio ${ratio(f.p50Ratio, 2)})`,
    `in process (${f.inProcess.requests} requests, memos warm): the champion's ranking ${formatMicros(f.inProcess.championUs)} a call, ` +
      `shadow scoring ${formatMicros(f.inProcess.shadowUs)} more; its first call per request shape and complexity ${f.inProcess.shadowColdMs.toFixed(2)} ms`,
  ].join("\n");
}
