import type { Logger } from "pino";
import type { TaskEvidence } from "../learning/evidence.js";
import { candidatesFor, type EstimateOverride, type RecommendMemo, type RecommendRequest } from "../learning/ranking.js";
import { prepareRanking } from "../learning/recommend.js";
import type { ModelRuntime, ModelSnapshot } from "../ml/model-runtime.js";
import type { EvidenceCache } from "./evidence-cache.js";
import type { ModelEstimates } from "./model-estimates.js";

/** An evidence snapshot made ready for one request shape: its model estimates computed and its ranking built (in the memo). */
export interface PreparedRanking {
  evidence: TaskEvidence;
  /** The candidate teams, in the order the override's estimates follow. */
  candidates: string[][];
  override: EstimateOverride | undefined;
}

/** The request of a ranking: what `recommend` needs, and the task type. */
export type RankingRequest = RecommendRequest & { taskType: string };

/** The two snapshots of a task type a call may be answered from: the newest seen, and the one before. */
interface Generations {
  newest: TaskEvidence;
  previous: TaskEvidence | undefined;
}

/**
 * Where a ranking was built: on a call (which waited for it), in the background (the previous
 * snapshot's answered meanwhile) or ahead of a model swap (the models swapped in once it was built).
 */
export type RankingBuild = "call" | "background" | "swap";

/** Told of every ranking built, for the metrics. */
export interface RankingBuildObserver {
  rankingBuilt(on: RankingBuild): void;
}

/** Task types whose generations are kept (as many as the evidence cache holds). */
const MAX_TASK_TYPES = 1000;

/** Most rankings built ahead of a model swap (about a second of building on this machine). */
const MAX_WARM = 256;

/**
 * PredictAgents' rankings, rebuilt off the request path. A ranking costs 10–70 ms to build for a
 * new evidence snapshot (candidates, model scores, greedy order, Thompson win probabilities), and
 * a task type's snapshot changes about once a second while it records executions. When a call
 * finds a newer snapshot whose ranking for its shape is not built, but the previous snapshot's
 * is, it is answered from the previous one while the new one is built in the background (one
 * build per snapshot and shape at a time); the calls after the build use the new one. A shape
 * seen for the first time, or after a model swap or a mode change (the model versions and the
 * confidence threshold are part of the shape), builds on the call, as does every call when the
 * evidence is read on every prediction (EVIDENCE_CACHE_MS=0). Only the newest two snapshots of a
 * task type are kept from here, so the memos of older ones are freed. Every answer is computed
 * from one snapshot, so the propensities logged are the ones used.
 */
export class RankingCache {
  readonly #generations = new Map<string, Generations>();
  /** Shapes whose ranking was built, per snapshot (weakly: they go with it), with what they were built for. */
  readonly #built = new WeakMap<TaskEvidence, Map<string, { request: RankingRequest; model: ModelSnapshot }>>();
  /** Builds in flight, per snapshot and shape. */
  readonly #building = new WeakMap<TaskEvidence, Map<string, Promise<void>>>();

  constructor(
    private readonly evidence: EvidenceCache,
    private readonly estimates: ModelEstimates,
    private readonly runtime: ModelRuntime,
    private readonly memo: RecommendMemo,
    /** Whether a call may be answered from the previous snapshot (false: the evidence is read on every call). */
    private readonly servePrevious: boolean,
    private readonly log: Logger,
    private readonly observer?: RankingBuildObserver,
  ) {}

  /** The prepared snapshot for this request, scored by `model` (the serving models unless given). */
  async get(request: RankingRequest, model: ModelSnapshot = this.runtime.snapshot): Promise<PreparedRanking> {
    const current = await this.evidence.get(request.taskType);
    const { previous } = this.#advance(request.taskType, current);
    const key = shapeKey(request, model);
    if (!this.#isBuilt(current, key) && this.servePrevious && previous && this.#isBuilt(previous, key)) {
      this.#build(current, key, request, model, "background").catch((error: unknown) =>
        this.log.warn({ err: error, taskType: request.taskType }, "building a ranking failed; serving the previous one"),
      );
      return this.#prepared(previous, request, model);
    }
    await this.#build(current, key, request, model, "call");
    return this.#prepared(current, request, model);
  }

  /**
   * Builds, for the models about to serve, the rankings the serving models were last asked for
   * (the newest snapshot of each task type, the most recent shapes first, at most MAX_WARM): the
   * runtime swaps once they are built, so the calls after a swap do not each wait for a build
   * (41 complexities × shapes × task types, 5–70 ms each, were built on calls after every retrain).
   * Builds run one at a time between calls; a failed one is logged and left to the first call.
   */
  async warm(next: ModelSnapshot): Promise<void> {
    const serving = this.runtime.snapshot;
    const wanted: { evidence: TaskEvidence; request: RankingRequest }[] = [];
    for (const { newest } of this.#generations.values()) {
      for (const { request, model } of this.#built.get(newest)?.values() ?? []) {
        if (sameVersions(model, serving)) wanted.push({ evidence: newest, request });
      }
    }
    for (const { evidence, request } of wanted.slice(-MAX_WARM).reverse()) {
      await this.#build(evidence, shapeKey(request, next), request, next, "swap").catch((error: unknown) =>
        this.log.warn({ err: error, taskType: request.taskType }, "building a ranking for the next model failed; the first call builds it"),
      );
    }
  }

  /** Notes the snapshot a call found: a new one moves the newest to previous (and frees the one before). */
  #advance(taskType: string, current: TaskEvidence): Generations {
    const held = this.#generations.get(taskType);
    this.#generations.delete(taskType);
    const generations =
      !held || held.newest === current ? (held ?? { newest: current, previous: undefined }) : { newest: current, previous: held.newest };
    this.#generations.set(taskType, generations);
    for (const oldest of this.#generations.keys()) {
      if (this.#generations.size <= MAX_TASK_TYPES) break;
      this.#generations.delete(oldest);
    }
    return generations;
  }

  #isBuilt(evidence: TaskEvidence, key: string): boolean {
    return this.#built.get(evidence)?.has(key) === true;
  }

  /** Builds the ranking of `key` on `evidence` once (concurrent calls share the build). */
  #build(evidence: TaskEvidence, key: string, request: RankingRequest, model: ModelSnapshot, on: RankingBuild): Promise<void> {
    if (this.#isBuilt(evidence, key)) return Promise.resolve();
    let builds = this.#building.get(evidence);
    if (!builds) {
      builds = new Map();
      this.#building.set(evidence, builds);
    }
    const running = builds.get(key);
    if (running) return running;
    const build = (async () => {
      // In the background, the call that started the build answers first.
      if (on !== "call") await new Promise((resolve) => setImmediate(resolve));
      const { override } = await this.#prepared(evidence, request, model);
      prepareRanking(evidence, request, override, this.memo);
      let built = this.#built.get(evidence);
      if (!built) {
        built = new Map();
        this.#built.set(evidence, built);
      }
      built.set(key, { request, model });
      this.observer?.rankingBuilt(on);
    })();
    builds.set(key, build);
    const done = () => builds.delete(key);
    build.then(done, done);
    return build;
  }

  /** The candidates and model estimates of `request` on `evidence` (memoized per snapshot: cheap once built). */
  async #prepared(evidence: TaskEvidence, request: RankingRequest, model: ModelSnapshot): Promise<PreparedRanking> {
    const candidates = candidatesFor(evidence, request, this.memo);
    const override = await this.estimates.override(model, evidence, request.complexity, candidates);
    return { evidence, candidates, override };
  }
}

/**
 * Everything a ranking depends on besides the snapshot: the request's constraints, weight,
 * deadline and threshold, the complexity rounded as the model estimates round it (0.25), whether
 * it explores (not how much: the draw happens per call), and the model versions scoring it.
 */
function shapeKey(r: RankingRequest, model: ModelSnapshot): string {
  return JSON.stringify([
    Math.round(r.complexity * 4) / 4,
    [...r.requiredAgents].sort(),
    [...r.excludedAgents].sort(),
    r.maxAgents,
    r.successWeight,
    r.explorationRate > 0,
    r.minConfidence ?? 0,
    r.deadline ?? null,
    model.success?.version ?? "",
    model.duration?.version ?? "",
  ]);
}

/** Whether two snapshots serve the same versions (a swap makes a new snapshot object of the same versions too). */
function sameVersions(a: ModelSnapshot, b: ModelSnapshot): boolean {
  return a.success?.version === b.success?.version && a.duration?.version === b.duration?.version;
}
