import type { Logger } from "pino";
import type { TaskEvidence } from "../learning/evidence.js";
import { candidatesFor, type EstimateOverride, prepareRanking, type RecommendMemo, type RecommendRequest } from "../learning/recommend.js";
import type { ModelRuntime, ModelSnapshot } from "../ml/model-runtime.js";
import { EVIDENCE_STALE_FACTOR, type EvidenceCache } from "./evidence-cache.js";
import type { ModelEstimates } from "./model-estimates.js";
import { RefreshingCache } from "./refreshing-cache.js";

/** An evidence snapshot made ready for one request shape: its model estimates computed and its ranking built (in the memo). */
export interface PreparedRanking {
  evidence: TaskEvidence;
  /** The candidate teams, in the order the override's estimates follow. */
  candidates: string[][];
  override: EstimateOverride | undefined;
}

/** The request of a ranking: what `recommend` needs, and the task type. */
export type RankingRequest = RecommendRequest & { taskType: string };

/** Shapes (task type × request constraints × complexity bucket × model) held at once. */
const MAX_SHAPES = 256;
/** Model snapshots (by versions) remembered for building: the serving one, and a few others (e.g. a canary's). */
const MAX_MODEL_SNAPSHOTS = 8;

/**
 * PredictAgents' rankings, rebuilt off the request path. A ranking costs 10–70 ms to build for a
 * new evidence snapshot (candidates, model scores, greedy order, Thompson win probabilities), and
 * the snapshot changes about once a second while its task type records executions. So a call gets
 * the snapshot whose ranking for its shape is built; when the evidence cache has a newer snapshot,
 * that one's ranking is built in the background (one build per shape at a time) and serves from
 * the next call on. A call never waits for a build except for a shape seen for the first time (or
 * after a model swap or a mode change: the model versions and the confidence threshold are part
 * of the shape), or when the ranking held is older than the evidence bound (5 × EVIDENCE_CACHE_MS).
 * Every answer is computed from one snapshot, so the propensities logged are the ones used.
 */
export class RankingCache {
  readonly #cache: RefreshingCache<string, PreparedRanking>;
  /** The model snapshot of each versions key, for the builds of the shapes that name it. */
  readonly #models = new Map<string, ModelSnapshot>();

  constructor(
    private readonly evidence: EvidenceCache,
    private readonly estimates: ModelEstimates,
    private readonly runtime: ModelRuntime,
    private readonly memo: RecommendMemo,
    evidenceCacheMs: number,
    log: Logger,
  ) {
    this.#cache = new RefreshingCache({
      load: (key) => this.#prepare(JSON.parse(key) as RankingRequest & { models: string }),
      refreshAfterMs: evidenceCacheMs,
      maxStaleMs: EVIDENCE_STALE_FACTOR * evidenceCacheMs,
      maxEntries: MAX_SHAPES,
      unchanged: (held, read) => held.evidence === read.evidence && held.override?.key === read.override?.key,
      onRefreshError: (error, key) => log.warn({ err: error, shape: key }, "rebuilding a ranking failed; serving the previous one"),
    });
  }

  /**
   * The prepared snapshot for this request, scored by `model` (the serving models unless given):
   * the held one, with a rebuild started when the evidence moved on.
   */
  async get(request: RankingRequest, model: ModelSnapshot = this.runtime.snapshot): Promise<PreparedRanking> {
    const models = versionsOf(model);
    this.#models.delete(models);
    this.#models.set(models, model);
    for (const oldest of this.#models.keys()) {
      if (this.#models.size <= MAX_MODEL_SNAPSHOTS) break;
      this.#models.delete(oldest);
    }
    const key = shapeKey(request, models);
    const [current, held] = await Promise.all([this.evidence.get(request.taskType), this.#cache.get(key)]);
    if (held.evidence !== current) this.#cache.invalidate(key);
    return held;
  }

  async #prepare(request: RankingRequest & { models: string }): Promise<PreparedRanking> {
    const evidence = await this.evidence.get(request.taskType);
    const candidates = candidatesFor(evidence, request, this.memo);
    const model = this.#models.get(request.models) ?? this.runtime.snapshot;
    const override = await this.estimates.override(model, evidence, request.complexity, candidates);
    prepareRanking(evidence, request, override, this.memo);
    return { evidence, candidates, override };
  }
}

/**
 * Everything a ranking depends on, as a key that is also the request to build it from: the
 * complexity rounded as the model estimates round it (0.25), whether the request explores (not
 * how much: the draw happens per call), and the serving model versions.
 */
function shapeKey(r: RankingRequest, models: string): string {
  const shape: RankingRequest & { models: string } = {
    taskType: r.taskType,
    complexity: Math.round(r.complexity * 4) / 4,
    maxRecommendations: 0,
    requiredAgents: [...r.requiredAgents].sort(),
    excludedAgents: [...r.excludedAgents].sort(),
    maxAgents: r.maxAgents,
    successWeight: r.successWeight,
    explorationRate: r.explorationRate > 0 ? 1 : 0,
    minConfidence: r.minConfidence ?? 0,
    models,
    ...(r.deadline ? { deadline: r.deadline } : {}),
  };
  return JSON.stringify(shape);
}

/** The versions a model snapshot serves, as a key. */
function versionsOf(model: ModelSnapshot): string {
  return `${model.success?.version ?? ""}|${model.duration?.version ?? ""}`;
}
