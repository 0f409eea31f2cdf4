import { performance } from "node:perf_hooks";
import { candidatesFor, RecommendMemo, type RecommendRequest } from "../src/learning/ranking.js";
import { recommend } from "../src/learning/recommend.js";
import { ModelRuntime } from "../src/ml/model-runtime.js";
import { trainModels } from "../src/ml/train-models.js";
import { loadServingModel } from "../src/service/model-loader.js";
import { ModelEstimates } from "../src/service/model-estimates.js";
import type { Challenger } from "../src/service/rollout-state.js";
import { scoreShadow } from "../src/service/shadow-scoring.js";
import { createEvidenceLedger } from "../src/sim/evidence-ledger.js";
import { createRng } from "../src/sim/random.js";
import { median } from "./stats.js";
import { worldTrainingExamples } from "./training-examples.js";

/** What PredictAgents' ranking and shadow scoring cost in process, per call, once their memos are warm. */
export interface ShadowInProcess {
  requests: number;
  /** Median µs of the champion's part of a call: candidate list, model estimates, ranking, π and the draw. */
  championUs: number;
  /** Median µs of scoreShadow on the same call: what a shadow adds to it. */
  shadowUs: number;
  /** Median ms of scoreShadow's first call for a request shape and complexity (its ONNX run, ranking and Thompson probabilities). */
  shadowColdMs: number;
}

const TIMED_PASSES = 20;

/**
 * Two model pairs trained on the world's executions (the second on twice the rows), the first
 * serving and the second's success model as a shadow, over in-memory evidence of the same
 * executions; requests of every task type at complexities 1 to 5 with exploration 0.1. Times the
 * first shadow scoring of each request (cold memos), then whole passes over the requests.
 */
export async function measureShadowInProcess(executions: number, seed: number): Promise<ShadowInProcess> {
  const examples = worldTrainingExamples(seed, 2 * executions);
  const load = (models: ReturnType<typeof trainModels>) =>
    Promise.all(
      models.map((m) =>
        loadServingModel({ version: m.version, kind: m.kind, onnx: m.onnx, feature_map: m.featureMap, metrics: m.metrics }),
      ),
    );
  const [champion, second] = await Promise.all([
    load(trainModels(examples.slice(0, executions), {}, "a")),
    load(trainModels(examples, {}, "b")),
  ]);
  const runtime = new ModelRuntime();
  for (const m of champion) await runtime.install(m);
  const shadowModel = second.find((m) => m.kind === "success");
  if (!shadowModel) throw new Error("no success model to shadow");
  for (const m of second) if (m !== shadowModel) void m.session.release();
  const challenger: Challenger = {
    rollout: {
      id: 1n,
      version: shadowModel.version,
      kind: "success",
      mode: "shadow",
      canary_share: null,
      champion_version: null,
      started_at_us: 0n,
    },
    model: shadowModel,
  };
  const ledger = createEvidenceLedger();
  for (const e of examples) ledger.record(e.taskType, e.agents, e.complexity, e.success, e.durationSeconds);
  const rng = createRng(seed);
  const deps = { estimates: new ModelEstimates(), recommendMemo: new RecommendMemo(), random: rng.next, runtime };
  const taskTypes = [...new Set(examples.map((e) => e.taskType))];
  const calls = taskTypes.flatMap((taskType) =>
    [1, 2, 3, 4, 5].map((complexity) => {
      const request: RecommendRequest = {
        complexity,
        maxRecommendations: 3,
        requiredAgents: [],
        excludedAgents: [],
        maxAgents: 0,
        successWeight: 0.8,
        explorationRate: 0.1,
      };
      return { evidence: ledger.evidence(taskType), request };
    }),
  );
  const championCall = async (c: (typeof calls)[number]) => {
    const candidates = candidatesFor(c.evidence, c.request, deps.recommendMemo);
    const override = await deps.estimates.override(runtime.snapshot, c.evidence, c.request.complexity, candidates);
    recommend(c.evidence, c.request, deps.random, override, deps.recommendMemo);
    return candidates;
  };
  const cold: number[] = [];
  for (const c of calls) {
    const candidates = await championCall(c);
    const t0 = performance.now();
    await scoreShadow(deps, challenger, c.evidence, c.request, candidates);
    cold.push(performance.now() - t0);
  }
  const championTimes: number[] = [];
  const shadowTimes: number[] = [];
  for (let pass = 0; pass < TIMED_PASSES; pass++) {
    for (const c of calls) {
      const t0 = performance.now();
      const candidates = await championCall(c);
      const t1 = performance.now();
      await scoreShadow(deps, challenger, c.evidence, c.request, candidates);
      const t2 = performance.now();
      championTimes.push((t1 - t0) * 1000);
      shadowTimes.push((t2 - t1) * 1000);
    }
  }
  runtime.close();
  void shadowModel.session.release();
  return { requests: calls.length, championUs: median(championTimes), shadowUs: median(shadowTimes), shadowColdMs: median(cold) };
}
