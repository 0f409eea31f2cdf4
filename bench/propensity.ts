import { create } from "@bufbuild/protobuf";
import { performance } from "node:perf_hooks";
import { type PredictAgentsRequest, PredictAgentsRequestSchema } from "../gen/agentlearning/v1/learning_service_pb.js";
import { drawFirst, firstPickProbabilities } from "../src/learning/first-pick.js";
import { type ThompsonContender, thompsonWinProbabilities } from "../src/learning/thompson-propensity.js";
import { createRng } from "../src/sim/random.js";
import { messagesOf } from "./bulk-ingest.js";
import type { BenchPostgres } from "./database.js";
import { runClosedLoop } from "./load.js";
import { noopCall } from "./noop-rpc.js";
import { PREDICT_CONFIG, predictCall, predictRequests } from "./predict.js";
import { assertExecutionCount, startBenchService } from "./service.js";
import { formatMicros, median, medianFigures, type RunFigures } from "./stats.js";
import { ratio, table } from "./table.js";
import { worldExecution } from "./world.js";

/** How the propensity section is run. */
export interface PropensityPlan {
  /** Contender counts at which the quadrature is timed. */
  contenders: readonly number[];
  /** Timed quadratures per contender count (the median is reported). */
  quadratureRuns: number;
  /** Exploration shares at which PredictAgents is measured against the no-op. */
  explorations: readonly number[];
  executions: number;
  rounds: number;
  noopMs: number;
  predictMs: number;
  warmupMs: number;
  seed: number;
}

/** The exact Thompson win probabilities of one set of contenders. */
export interface QuadratureFigure {
  contenders: number;
  /** Median milliseconds of one quadrature (once per evidence snapshot and request shape). */
  medianMs: number;
  /** Microseconds per call of what every call pays: π from the win probabilities and the draw. */
  perCallUs: number;
}

/** PredictAgents against the no-op at c=1, at one exploration share. */
export interface ExplorationLevel {
  exploration: number;
  noop: RunFigures;
  predict: RunFigures;
  /** PredictAgents p50 over no-op p50 (median of the per-round ratios). */
  p50Ratio: number;
  /** PredictAgents calls/s over no-op calls/s (median of the per-round ratios). */
  throughputRatio: number;
}

/** What the section measured. */
export interface PropensityFigures {
  quadrature: QuadratureFigure[];
  executions: number;
  levels: ExplorationLevel[];
}

/** Contenders like a task type's teams: a few well-known ones, most seen a handful to a few hundred times. */
function contendersOf(n: number, seed: number): ThompsonContender[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const runs = Math.floor(2 + 10 ** (rng.next() * 3.3));
    const p = 0.55 + 0.2 * rng.next();
    return { alpha: 1 + p * runs, beta: 1 + (1 - p) * runs, offset: 0.2 * 0.5 * rng.next() };
  });
}

function timeQuadrature(n: number, runs: number, seed: number): QuadratureFigure {
  const contenders = contendersOf(n, seed);
  // Warm the JIT first: a server runs this many times.
  for (let i = 0; i < 5; i++) thompsonWinProbabilities(contenders, 0.8);
  const times: number[] = [];
  let shares: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    shares = thompsonWinProbabilities(contenders, 0.8);
    times.push(performance.now() - t0);
  }
  const rng = createRng(seed + 1);
  const calls = 100_000;
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < calls; i++) sink += drawFirst(firstPickProbabilities(shares, 0.3), rng.next);
  const perCallUs = ((performance.now() - t0) * 1000) / calls;
  if (sink < 0) throw new Error("unreachable");
  return { contenders: n, medianMs: median(times), perCallUs };
}

function withExploration(requests: readonly PredictAgentsRequest[], exploration: number): PredictAgentsRequest[] {
  return requests.map((r) =>
    create(PredictAgentsRequestSchema, { taskType: r.taskType, complexity: r.complexity, explorationRate: exploration }),
  );
}

/**
 * The quadrature's cost at each contender count, in this process; then, on one server with the
 * world's executions recorded, PredictAgents (statistical estimates, every answer logged with its
 * decision) against the no-op at c=1 for each exploration share, rounds alternating.
 */
export async function measurePropensity(
  postgres: BenchPostgres,
  plan: PropensityPlan,
  progress: (message: string) => void,
): Promise<PropensityFigures> {
  progress(`propensity: exact Thompson probabilities for ${plan.contenders.join(", ")} contenders, ${plan.quadratureRuns} runs each`);
  const quadrature = plan.contenders.map((n) => timeQuadrature(n, plan.quadratureRuns, plan.seed + n));
  const url = await postgres.freshDatabase("propensity");
  const bench = await startBenchService(url, PREDICT_CONFIG);
  try {
    const executions = Array.from({ length: plan.executions }, (_, i) => worldExecution(plan.seed, "e", i));
    await bench.learning.recordExecutions(messagesOf(executions, 500));
    await bench.admin.analyze({});
    await assertExecutionCount(bench, plan.executions, "propensity: recording");
    const base = predictRequests(plan.seed);
    const levels: ExplorationLevel[] = [];
    for (const exploration of plan.explorations) {
      progress(`propensity: PredictAgents at exploration ${exploration} against the no-op, c=1`);
      const requests = withExploration(base, exploration);
      await runClosedLoop({ concurrency: 1, durationMs: plan.warmupMs, call: predictCall(bench, requests, {}) });
      const noopRounds: RunFigures[] = [];
      const predictRounds: RunFigures[] = [];
      for (let round = 0; round < plan.rounds; round++) {
        noopRounds.push(await runClosedLoop({ concurrency: 1, durationMs: plan.noopMs, call: noopCall(bench) }));
        predictRounds.push(await runClosedLoop({ concurrency: 1, durationMs: plan.predictMs, call: predictCall(bench, requests, {}) }));
      }
      levels.push({
        exploration,
        noop: medianFigures(noopRounds),
        predict: medianFigures(predictRounds),
        p50Ratio: median(predictRounds.map((r, i) => r.p50Us / (noopRounds[i]?.p50Us ?? Number.NaN))),
        throughputRatio: median(predictRounds.map((r, i) => r.callsPerSecond / (noopRounds[i]?.callsPerSecond ?? Number.NaN))),
      });
    }
    return { quadrature, executions: plan.executions, levels };
  } finally {
    await bench.stop();
    await postgres.dropDatabase(url);
  }
}

/** The section's part of the report. */
export function renderPropensity(f: PropensityFigures): string {
  const out = [
    "Propensities: exact Thompson win probabilities by quadrature (once per evidence snapshot and request shape), π and the draw (every call)",
  ];
  out.push(
    table(
      ["contenders", "quadrature (median)", "π + draw per call"],
      f.quadrature.map((q) => [String(q.contenders), `${q.medianMs.toFixed(2)} ms`, `${q.perCallUs.toFixed(2)} µs`]),
    ),
  );
  out.push(
    "",
    `PredictAgents (statistical estimates, ${f.executions} executions, each answer logged with its decision) against Health/Check, c=1`,
  );
  out.push(
    table(
      ["exploration", "no-op p50", "PredictAgents p50", "p99", "p50 ratio", "calls/s ratio"],
      f.levels.map((l) => [
        String(l.exploration),
        formatMicros(l.noop.p50Us),
        formatMicros(l.predict.p50Us),
        formatMicros(l.predict.p99Us),
        ratio(l.p50Ratio, 2),
        ratio(l.throughputRatio, 3),
      ]),
    ),
  );
  return out.join("\n");
}
