import { type FeatureEncoder, encodeRow } from "./features.js";
import type { OnnxModel } from "./onnx-session.js";
import { RetiringSessions } from "./retiring-sessions.js";

/** A loaded model, ready to score rows. */
export interface ServingModel {
  version: string;
  kind: "success" | "duration";
  encoder: FeatureEncoder;
  session: OnnxModel;
  /** duration only: quantiles of validation residuals of ln(1 + seconds), for intervals. */
  residualInterval?: { lower: number; upper: number; level: number };
  /** success only: σ² of a team's log-odds deviation from the model, per bucket of its rows (team-uncertainty.ts). */
  teamLogitVariances?: number[];
  /** success only: how much of a team's record corrects the model (model-posterior.ts). */
  recordWeight?: number;
  /** success only: whether serving adds a team's statistical prior to the model's (team-uncertainty.ts's usesStatisticalPrior). */
  statisticalPrior?: boolean;
  /**
   * success only: whether the model may order the greedy pick — its holdout log loss beat
   * counting's (counting-baseline.ts). A model that does not still answers probabilities, but the
   * first team is chosen as the statistics would choose it.
   */
  ranks?: boolean;
  /** duration only: every stored quantile of those residuals, increasing in p (see residual-quantiles.ts). */
  residualQuantiles?: { p: number; value: number }[];
}

/** The models serving now. A request reads the snapshot once, so it never mixes versions. */
export interface ModelSnapshot {
  success?: ServingModel;
  duration?: ServingModel;
}

/** Training rows of a task type below which the model is not trusted for it (statistics answer). */
export const MIN_TASK_TYPE_ROWS = 50;

/**
 * Holds the serving models and swaps them atomically: a new version is loaded completely (and was
 * checked against its trees when it was trained) before one assignment makes it current; a
 * failed load leaves the old one serving; the replaced session is released only after runs that
 * may still hold it have had time to finish.
 */
export class ModelRuntime {
  #snapshot: ModelSnapshot = {};
  readonly #retiring = new RetiringSessions();
  #prepare: ((next: ModelSnapshot) => Promise<void>) | undefined;
  /** Installs started, per kind: an install overtaken by a later one of its kind does not swap. */
  readonly #installs = { success: 0, duration: 0 };

  /** The models serving now. */
  get snapshot(): ModelSnapshot {
    return this.#snapshot;
  }

  /**
   * Work done with the next snapshot before it serves: the service builds the rankings callers
   * were asking for, so the first calls after a swap do not each wait for one. It must not reject
   * (it reports its own failures): a swap never waits on more than it.
   */
  prepareSwapsWith(prepare: (next: ModelSnapshot) => Promise<void>): void {
    this.#prepare = prepare;
  }

  /** The newest install of each kind: an overtaken one settles with it. */
  readonly #latest: Partial<Record<ServingModel["kind"], Promise<void>>> = {};

  /**
   * Makes `model` the serving model of its kind, once the snapshot it makes is prepared. Settles
   * once it serves, or once a newer install of its kind that overtook it (the same version loaded
   * again on its activation's notification, or a later activation) has swapped: a caller that
   * answers after it never answers before the models it installed, or newer ones, serve.
   */
  install(model: ServingModel): Promise<void> {
    if (this.#snapshot[model.kind]?.version === model.version) {
      void model.session.release();
      return Promise.resolve();
    }
    const run = this.#swap(model, ++this.#installs[model.kind]);
    this.#latest[model.kind] = run;
    return run;
  }

  async #swap(model: ServingModel, ticket: number): Promise<void> {
    await this.#prepare?.({ ...this.#snapshot, [model.kind]: model });
    if (ticket !== this.#installs[model.kind]) {
      void model.session.release();
      return this.#latest[model.kind];
    }
    const previous = this.#snapshot[model.kind];
    if (previous?.version === model.version) {
      void model.session.release();
      return;
    }
    this.#snapshot = { ...this.#snapshot, [model.kind]: model };
    if (previous) this.#retiring.retire(previous.session);
  }

  /** Releases every session (shutdown). */
  close(): void {
    this.#retiring.close();
    void this.#snapshot.success?.session.release();
    void this.#snapshot.duration?.session.release();
    this.#snapshot = {};
  }
}

/** Whether a model knows a task type well enough to answer for it. */
export function knowsTaskType(model: ServingModel, taskType: string): boolean {
  return (model.encoder.map.taskTypeRows[taskType] ?? 0) >= MIN_TASK_TYPE_ROWS;
}

/** Scores several teams, each at its own complexity, in ONE batched run of a model. */
export async function scoreTeamsAt(
  model: ServingModel,
  taskType: string,
  rows: readonly { team: readonly string[]; complexity: number }[],
): Promise<Float32Array> {
  const features = new Float32Array(rows.length * model.encoder.width);
  rows.forEach((r, row) => {
    encodeRow(model.encoder, features, row, taskType, r.team, r.complexity);
  });
  return model.session.run(features, rows.length);
}

/** Scores several teams for one task in ONE batched run of a model. */
export async function scoreTeams(
  model: ServingModel,
  taskType: string,
  complexity: number,
  teams: readonly (readonly string[])[],
): Promise<Float32Array> {
  const features = new Float32Array(teams.length * model.encoder.width);
  teams.forEach((team, row) => {
    encodeRow(model.encoder, features, row, taskType, team, complexity);
  });
  return model.session.run(features, teams.length);
}
