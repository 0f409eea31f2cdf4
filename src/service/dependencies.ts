import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import type { NotificationListener } from "../store/listener.js";
import type { ModelRuntime } from "../ml/model-runtime.js";
import type { EvidenceCache } from "./evidence-cache.js";
import type { RecommendMemo } from "../learning/ranking.js";
import type { ModelEstimates } from "./model-estimates.js";
import type { ModelFilesSync } from "./model-files-sync.js";
import type { RankingCache } from "./ranking-cache.js";
import type { RecommendationLogWriter } from "./recommendation-log-writer.js";
import type { Retrainer } from "./retrainer.js";
import type { RolloutState } from "./rollout-state.js";
import type { SettingsCache } from "./settings-cache.js";

/** What the RPC handlers need from the process: wired once in main.ts. */
export interface ServiceDependencies {
  pool: DatabasePool;
  /** PredictAgents' recommendation log, written in batches off the request path; `flush` before reading it. */
  recommendationLog: RecommendationLogWriter;
  log: Logger;
  /** Agent names known to be in the catalog table (it only grows): saves a round trip per record. */
  knownAgents: Set<string>;
  /** Executions committed per transaction by the bulk RPCs. */
  bulkBatchSize: number;
  /** When this process started serving, ms since the epoch. */
  startedAtMs: number;
  /** Whether the database answers and migrations are applied, as last observed. */
  isDatabaseReady(): boolean;
  /** The newest migration applied. */
  schemaVersion(): number;
  /** The process's LISTEN session: news from other replicas. */
  listener: NotificationListener;
  /** Learning mode and switch, cached. */
  settings: SettingsCache;
  /** Per-task-type evidence for predictions, cached. */
  evidence: EvidenceCache;
  /** Idle time after which an insight stream sends a heartbeat, ms. */
  heartbeatMs: number;
  /** Estimates from the serving models, with their memos (owned here rather than by a module). */
  estimates: ModelEstimates;
  /** PredictAgents' rankings and candidate lists per evidence snapshot and request shape. */
  recommendMemo: RecommendMemo;
  /** PredictAgents' rankings per request shape, rebuilt in the background when the evidence moves on. */
  rankings: RankingCache;
  /** The models serving now (swapped atomically). */
  runtime: ModelRuntime;
  /** The challenger rollout under way (shadow or canary) and its loaded model, kept in step with PostgreSQL. */
  rollout: RolloutState;
  /** Trains new versions (one replica at a time). */
  retrainer: Retrainer;
  /** Writes activated versions to the models directory. */
  modelFiles: ModelFilesSync;
  /** Uniform random numbers in [0, 1): exploration draws (injectable for reproducible tests). */
  random(): number;
}
