import type { Logger } from "pino";
import { type DatabasePool, sql } from "slonik";
import { z } from "zod";
import type { ModelRuntime } from "../ml/model-runtime.js";
import {
  activateModelVersion,
  activeVersionOf,
  isActiveVersion,
  listModelVersionsCreatedAfter,
  markTrained,
  type ModelSummary,
  readRetrainDue,
  RETRAIN_LOCK_KEY,
} from "../store/models.js";
import { readCurrentRollout, startRollout } from "../store/rollouts.js";
import type { DueJob } from "./due-scheduler.js";
import { loadServingModel } from "./model-loader.js";
import type { RetrainJob, RetrainReply, StoredVersion } from "./retrain-worker.js";
import { fork } from "node:child_process";
import { setPriority } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** What one retraining produced. */
export interface RetrainOutcome {
  /** False when another replica holds the retrain lock. */
  ran: boolean;
  /** When `ran` is false: when the lock was found taken (µs, PostgreSQL's clock). */
  refusedAtUs?: bigint;
  models: { version: string; kind: "success" | "duration"; accepted: boolean; reason?: string }[];
  examples: number;
}

/**
 * How a retraining ended, for metrics: activated (a version went live), rejected (none did: every
 * version failed the quality gate or parity check), insufficient_data (too little history to
 * train), skipped (another replica holds the lock), failed (an error).
 */
export type RetrainOutcomeLabel = "activated" | "rejected" | "insufficient_data" | "skipped" | "failed";

/** Told how each retraining ended, so operators can see training work without reading logs. */
export interface RetrainObserver {
  /** `seconds` is absent when the retraining did not run here (skipped). */
  retrainFinished(outcome: RetrainOutcomeLabel, seconds?: number): void;
}

const LockRow = z.object({ locked: z.boolean(), now_us: z.bigint() });

/** How often a caller waiting for another replica's training asks for the lock again. */
const LOCK_POLL_MS = 250;

/** A stored version as a retraining outcome reports it. */
function outcomeOf(m: ModelSummary): RetrainOutcome["models"][number] {
  return {
    version: m.version,
    kind: m.kind,
    accepted: m.status !== "rejected",
    ...(m.rejection_reason ? { reason: m.rejection_reason } : {}),
  };
}

/** `promise`, or the signal's reason as soon as it aborts (the work behind the promise goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function versionStamp(): string {
  const now = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${now}-${Math.random().toString(16).slice(2, 8)}`;
}

/**
 * Retrains the models: one replica at a time (a session advisory lock held for the run), all the
 * heavy work in a child process at the lowest CPU priority (training, the ONNX parity check and
 * storage of every version with its figures: retrain-worker.ts), then here the activation of the
 * versions that passed the quality gate — announced to every replica, and installed here at once.
 */
export class Retrainer {
  constructor(
    private readonly pool: DatabasePool,
    private readonly databaseUrl: string,
    private readonly runtime: ModelRuntime,
    private readonly log: Logger,
    private readonly maxRows: number,
    private readonly observer?: RetrainObserver,
    /** See Config.promotion. */
    private readonly promotion: "holdout" | "evidence" = "holdout",
  ) {}

  /**
   * Retrains now and answers with the outcome. When this replica is already training, the caller
   * joins that run (the automatic one included) rather than starting another. When another
   * replica holds the lock: with `waitForOthers`, polls the lock until that replica is done and
   * answers with the versions it stored meanwhile (or trains itself when it stored none); without,
   * answers `ran: false` at once. `signal` (a call's deadline) ends the caller's wait, never the
   * training itself, which goes on and publishes its versions for everyone.
   */
  async retrain(reason: string, options: { waitForOthers?: boolean; signal?: AbortSignal } = {}): Promise<RetrainOutcome> {
    const { signal } = options;
    let othersSince: bigint | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const run = this.#running ?? this.#startRun(reason, othersSince);
      const outcome = await untilAborted(run, signal);
      if (outcome.ran) return outcome;
      if (!options.waitForOthers) {
        this.observer?.retrainFinished("skipped");
        return outcome;
      }
      // Versions created from now on are the other replica's answer to this caller too.
      othersSince ??= outcome.refusedAtUs;
      await sleep(LOCK_POLL_MS, undefined, { signal }).catch(() => signal?.throwIfAborted());
    }
  }

  /** The run of this replica in progress, shared by every caller that asks meanwhile. */
  #running: Promise<RetrainOutcome> | undefined;

  #startRun(reason: string, othersSince: bigint | undefined): Promise<RetrainOutcome> {
    const run = this.#locked(reason, othersSince).finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #locked(reason: string, othersSince: bigint | undefined): Promise<RetrainOutcome> {
    return this.pool.connect(async (connection) => {
      const { locked, now_us } = await connection.one(
        sql.type(
          LockRow,
        )`SELECT pg_try_advisory_lock(${RETRAIN_LOCK_KEY}) AS locked, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us`,
      );
      if (!locked) return { ran: false, models: [], examples: 0, refusedAtUs: now_us };
      try {
        if (othersSince !== undefined) {
          // Another replica trained while this caller waited: its versions are the answer.
          const theirs = await listModelVersionsCreatedAfter(connection, othersSince);
          if (theirs.length > 0) {
            this.observer?.retrainFinished("skipped");
            return { ran: true, models: theirs.map(outcomeOf), examples: Number(theirs[0]!.training_rows) };
          }
        }
        return await this.#observed(reason);
      } finally {
        await connection.query(sql.type(z.object({}))`SELECT pg_advisory_unlock(${RETRAIN_LOCK_KEY})`);
      }
    });
  }

  async #observed(reason: string): Promise<RetrainOutcome> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const outcome = await this.#run(reason);
      const label = outcome.models.length === 0 ? "insufficient_data" : outcome.models.some((m) => m.accepted) ? "activated" : "rejected";
      this.observer?.retrainFinished(label, seconds());
      return outcome;
    } catch (error) {
      this.observer?.retrainFinished("failed", seconds());
      throw error;
    }
  }

  async #run(reason: string): Promise<RetrainOutcome> {
    const started = Date.now();
    const reply = await this.#inChildProcess({ databaseUrl: this.databaseUrl, maxRows: this.maxRows, versionStamp: versionStamp() });
    if (!reply.ok) throw new Error(`training failed: ${reply.error}`);
    const outcome: RetrainOutcome = { ran: true, models: [], examples: reply.examples };
    for (const model of reply.models) outcome.models.push(await this.#publish(model, reason));
    await markTrained(this.pool);
    this.log.info({ examples: reply.examples, ms: Date.now() - started, models: outcome.models }, "retrained");
    return outcome;
  }

  /** Activates a version the child stored (or starts it in shadow), and serves it here at once. */
  async #publish(model: StoredVersion, reason: string): Promise<RetrainOutcome["models"][number]> {
    const { rejection } = model;
    if (rejection) return { version: model.version, kind: model.kind, accepted: false, reason: rejection };
    if (this.promotion === "evidence" && (await activeVersionOf(this.pool, model.kind)) !== null) return this.#challenge(model);
    await activateModelVersion(this.pool, model.version, reason);
    const serving = await loadServingModel({
      version: model.version,
      kind: model.kind,
      onnx: model.onnx,
      feature_map: model.featureMap,
      metrics: model.metrics,
    });
    // An ActivateModel from any replica may have committed since: serve only what is active.
    if (await isActiveVersion(this.pool, model.version)) await this.runtime.install(serving);
    else void serving.session.release();
    return { version: model.version, kind: model.kind, accepted: true };
  }

  /**
   * Promotion on evidence: the champion keeps serving. A success version becomes the shadow
   * challenger (replacing a shadow under way, never a canary, which serves callers; every replica
   * follows the notice); a duration version stays inactive, for an operator to try with
   * SetChallenger (one rollout at a time).
   */
  async #challenge(model: StoredVersion): Promise<RetrainOutcome["models"][number]> {
    const shadow = model.kind === "success" && (await readCurrentRollout(this.pool))?.mode !== "canary";
    if (shadow) await startRollout(this.pool, { version: model.version, kind: model.kind, mode: "shadow", canaryShare: null });
    const held = shadow ? "started in shadow" : "left inactive";
    return {
      version: model.version,
      kind: model.kind,
      accepted: true,
      reason: `passed the holdout gate; ${held} until promoted on evidence`,
    };
  }

  // A child process rather than a worker thread: a thread cannot be given a lower scheduling
  // priority than the event loop it shares a process with, and on a 2-core machine a trainer at
  // equal priority takes the cores the RPCs need (PredictAgents p99 tripled while training).
  #inChildProcess(job: RetrainJob): Promise<RetrainReply> {
    const fromSources = import.meta.url.endsWith(".ts");
    const entry = fileURLToPath(new URL(`./retrain-worker.${fromSources ? "ts" : "js"}`, import.meta.url));
    const child = fork(entry, [], { serialization: "advanced", execArgv: fromSources ? ["--import", "tsx"] : [] });
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, 19);
      } catch (error) {
        this.log.warn({ err: error }, "could not lower the training process's priority");
      }
    }
    return new Promise((resolve, reject) => {
      let replied = false;
      child.once("message", (reply: RetrainReply) => {
        replied = true;
        resolve(reply);
      });
      child.once("error", reject);
      child.once("exit", (code, signal) => {
        if (!replied) reject(new Error(`training process ended without a reply (code ${code}, signal ${signal})`));
      });
      child.send(job);
    });
  }
}

/** Automatic retraining, for the DueScheduler. */
export function retrainJob(pool: DatabasePool, retrainer: Retrainer, learningEnabled: () => Promise<boolean>): DueJob {
  return {
    name: "retrain",
    due: () => readRetrainDue(pool),
    enabled: learningEnabled,
    async run() {
      const outcome = await retrainer.retrain("scheduled");
      return outcome.ran ? { examples: outcome.examples, models: outcome.models } : undefined;
    },
  };
}
