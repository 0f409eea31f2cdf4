import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import type { ModelSnapshot, ServingModel } from "../ml/model-runtime.js";
import { RetiringSessions } from "../ml/retiring-sessions.js";
import type { NotificationListener } from "../store/listener.js";
import { readModelVersion } from "../store/models.js";
import { ROLLOUT_CHANNEL, type RolloutRecord, readCurrentRollout } from "../store/rollouts.js";
import { loadServingModel } from "./model-loader.js";

/** The challenger this replica serves: the rollout as stored and its loaded model. */
export interface Challenger {
  rollout: RolloutRecord;
  model: ServingModel;
}

/** The models of a challenger's arm: the champion's with the challenger's kind replaced. */
export function challengerSnapshot(challenger: Challenger, champion: ModelSnapshot): ModelSnapshot {
  return { ...champion, [challenger.model.kind]: challenger.model };
}

/**
 * This replica's copy of the rollout under way, kept in step with PostgreSQL like the models
 * (model-loader.ts): read at start, re-read when any replica announces a change (NOTIFY on
 * ROLLOUT_CHANNEL) and after a lost LISTEN session. PredictAgents reads `current` from memory, so
 * routing and shadow scoring add no database round trip. A challenger that fails to load is logged
 * and the champion serves every call meanwhile.
 */
export class RolloutState {
  #current: Challenger | undefined;
  /** Bumped by every refresh, so a slow load cannot overwrite a newer state. */
  #generation = 0;
  readonly #retiring = new RetiringSessions();

  constructor(
    private readonly pool: DatabasePool,
    private readonly listener: NotificationListener,
    private readonly log: Logger,
  ) {}

  /** The challenger under way, or undefined. */
  get current(): Challenger | undefined {
    return this.#current;
  }

  /** Reads the rollout under way and starts following changes. */
  async start(): Promise<void> {
    this.listener.on("notification", (channel: string) => {
      if (channel === ROLLOUT_CHANNEL) void this.refresh();
    });
    this.listener.on("reconnected", () => void this.refresh());
    await this.refresh();
  }

  /** The newest refresh: an overtaken one settles with it. */
  #latest: Promise<void> = Promise.resolve();

  /**
   * Re-reads the rollout; loads its challenger when it changed (also called after a change made
   * here, before answering). Settles once this replica serves what it read, or what a newer
   * refresh read: a change's notification arriving while the change's own call refreshes must not
   * let that call answer before the new rollout serves here.
   */
  refresh(): Promise<void> {
    const run = this.#load(++this.#generation);
    this.#latest = run;
    return run;
  }

  async #load(generation: number): Promise<void> {
    try {
      const rollout = await readCurrentRollout(this.pool);
      if (rollout && this.#current?.rollout.id === rollout.id) return;
      let model: ServingModel | undefined;
      if (rollout) {
        const record = await readModelVersion(this.pool, rollout.version);
        if (!record) throw new Error(`no model version ${rollout.version}`);
        model = await loadServingModel(record);
      }
      if (generation !== this.#generation) {
        void model?.session.release();
        return this.#latest;
      }
      this.#replace(rollout && model ? { rollout, model } : undefined);
      if (rollout) this.log.info({ rollout: String(rollout.id), version: rollout.version, mode: rollout.mode }, "challenger serving");
    } catch (error) {
      this.log.error({ err: error }, "could not load the challenger; the champion serves every call");
    }
  }

  /** The models of the challenger's arm (see challengerSnapshot). */
  snapshotOf(challenger: Challenger, champion: ModelSnapshot): ModelSnapshot {
    return challengerSnapshot(challenger, champion);
  }

  #replace(next: Challenger | undefined): void {
    const previous = this.#current;
    this.#current = next;
    if (previous && previous.model !== next?.model) this.#retiring.retire(previous.model.session);
  }

  /** Releases every session (shutdown). */
  close(): void {
    this.#retiring.close();
    void this.#current?.model.session.release();
    this.#current = undefined;
  }
}
