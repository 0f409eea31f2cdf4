// Section "quality": how well the service learns, against the simulator's truth. Per history size,
// a fresh database and server: record the history, score unseen executions and take the greedy
// picks with the statistics alone, Retrain, and do both again with the models serving. Training
// time comes from the Retrain call (child process, data read included).
import { ModelKind, ModelStatus } from "../gen/agentlearning/v1/admin_service_pb.js";
import {
  drawHistory,
  type HistoryMix,
  measurePredictions,
  measureRegret,
  type PredictionFigures,
  recordHistory,
  type RegretFigures,
} from "../src/sim/learning-quality.js";
import { type FollowerLoopOptions, type FollowerLoopResult, runFollowerLoop } from "../src/sim/follower-loop.js";
import { createWorld, type World } from "../src/sim/world.js";
import type { BenchPostgres } from "./database.js";
import { startBenchService } from "./service.js";

/** What the section measures. */
export interface QualityPlan {
  sizes: number[];
  /** Unseen executions scored at each size. */
  testRows: number;
  complexities: number[];
  mix: HistoryMix;
  seed: number;
  /** The follower loop's size (src/sim/follower-loop.ts); tasks 0 skips it. */
  follower: Omit<FollowerLoopOptions, "seed">;
}

/** One size's figures. */
export interface QualitySize {
  executions: number;
  statistical: { predictions: PredictionFigures; regret: RegretFigures };
  model: { predictions: PredictionFigures; regret: RegretFigures } | undefined;
  /** Why no model serves, when none does. */
  noModel?: string;
  retrainSeconds: number;
  trees: { success: number; duration: number } | undefined;
  /** The success version's stored figures (gate metrics, team variances). */
  successMetrics: Record<string, number>;
}

/** The section's figures. */
export interface QualityFigures {
  plan: QualityPlan;
  sizes: QualitySize[];
  /** The follower loop on a server with its defaults (automatic retraining on). */
  follower: FollowerLoopResult | undefined;
}

/** No automatic jobs: the section trains exactly once per size, when it says so. */
const QUIET = {
  retrainEveryExecutions: 1_000_000_000,
  retrainIntervalMs: 1_000_000_000,
  analysisEveryExecutions: 1_000_000_000,
  analysisIntervalMs: 1_000_000_000,
  evidenceCacheMs: 0,
  maxStreamRate: 1_000_000,
};

/** Measures learning quality at each size of the plan. */
export async function measureQuality(
  postgres: BenchPostgres,
  plan: QualityPlan,
  progress: (message: string) => void,
): Promise<QualityFigures> {
  const world = createWorld(1);
  const test = drawHistory(world, plan.mix, plan.testRows, plan.seed + 1, "unseen");
  const sizes: QualitySize[] = [];
  for (const executions of plan.sizes) {
    const url = await postgres.freshDatabase(`quality-${executions}`);
    const bench = await startBenchService(url, QUIET);
    try {
      progress(`quality: recording ${executions} executions`);
      await recordHistory(
        bench.learning,
        drawHistory(world, plan.mix, executions, plan.seed).map((h) => h.execution),
      );
      const statistical = {
        predictions: await measurePredictions(bench.learning, test),
        regret: await measureRegret(bench.learning, world, plan.complexities),
      };
      progress(`quality: Retrain on ${executions} executions`);
      const t0 = performance.now();
      const retrained = await bench.admin.retrain({ force: true });
      const retrainSeconds = (performance.now() - t0) / 1000;
      const success = retrained.models.find((m) => m.kind === ModelKind.SUCCESS);
      const duration = retrained.models.find((m) => m.kind === ModelKind.DURATION);
      const active = success?.status === ModelStatus.ACTIVE;
      sizes.push({
        executions,
        statistical,
        model: active
          ? {
              predictions: await measurePredictions(bench.learning, test),
              regret: await measureRegret(bench.learning, world, plan.complexities),
            }
          : undefined,
        noModel: active
          ? undefined
          : success
            ? `success model ${ModelStatus[success.status]}: ${success.rejectionReason}`
            : "Retrain trained no success model",
        retrainSeconds,
        trees: success && duration ? { success: success.metrics.trees ?? 0, duration: duration.metrics.trees ?? 0 } : undefined,
        successMetrics: { ...(success?.metrics ?? {}) },
      });
    } finally {
      await bench.stop();
      await postgres.dropDatabase(url);
    }
  }
  return { plan, sizes, follower: plan.follower.tasks > 0 ? await measureFollower(postgres, world, plan, progress) : undefined };
}

/** The follower loop on a fresh server with the service's defaults (only the stream rate cap lifted). */
async function measureFollower(
  postgres: BenchPostgres,
  world: World,
  plan: QualityPlan,
  progress: (message: string) => void,
): Promise<FollowerLoopResult> {
  const url = await postgres.freshDatabase("quality-follower");
  const bench = await startBenchService(url, { maxStreamRate: 1_000_000 });
  try {
    progress(`quality: follower loop, ${plan.follower.habits} habits then ${plan.follower.tasks} followed tasks`);
    return await runFollowerLoop(bench.learning, world, { ...plan.follower, seed: plan.seed });
  } finally {
    await bench.stop();
    await postgres.dropDatabase(url);
  }
}
