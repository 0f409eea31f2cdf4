import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import { featureEncoder } from "../ml/features.js";
import { FeatureMapSchema } from "../ml/model-schemas.js";
import type { ModelRuntime, ServingModel } from "../ml/model-runtime.js";
import { loadSession } from "../ml/onnx-session.js";
import { COUNTING_LOG_LOSS_METRIC } from "../ml/counting-baseline.js";
import { RECORD_WEIGHT_METRIC, STATISTICAL_PRIOR_METRIC, TEAM_ROW_BUCKETS, teamVarianceMetric } from "../ml/team-uncertainty.js";
import { residualQuantilesOf } from "../ml/residual-quantiles.js";
import type { NotificationListener } from "../store/listener.js";
import { isActiveVersion, MODELS_CHANNEL, type ModelRecord, readActiveModels, readModelVersion } from "../store/models.js";

/** What loading needs of a version: its bytes, map and figures. */
export type LoadableModel = Pick<ModelRecord, "version" | "kind" | "feature_map" | "metrics"> & { onnx: Uint8Array };

/** Whether a success model's holdout log loss beat counting's (models trained before the comparison existed: yes). */
function beatsCounting(metrics: Record<string, number>): boolean {
  const counting = metrics[COUNTING_LOG_LOSS_METRIC];
  const own = metrics.log_loss;
  return counting === undefined || own === undefined || own < counting;
}

/** Loads a stored version into a serving model (a fresh onnxruntime session). */
export async function loadServingModel(record: LoadableModel): Promise<ServingModel> {
  const featureMap = FeatureMapSchema.parse(record.feature_map);
  const session = await loadSession(new Uint8Array(record.onnx));
  const q05 = record.metrics.residual_q05;
  const q95 = record.metrics.residual_q95;
  const variances = TEAM_ROW_BUCKETS.map((_, bucket) => record.metrics[teamVarianceMetric(bucket)]);
  return {
    version: record.version,
    kind: record.kind,
    encoder: featureEncoder(featureMap),
    session,
    residualInterval: q05 !== undefined && q95 !== undefined ? { lower: q05, upper: q95, level: 0.9 } : undefined,
    teamLogitVariances: variances.every((v) => v !== undefined) ? (variances as number[]) : undefined,
    recordWeight: record.metrics[RECORD_WEIGHT_METRIC],
    // Models trained before the trainer chose it always added the statistical prior.
    statisticalPrior: (record.metrics[STATISTICAL_PRIOR_METRIC] ?? 1) === 1,
    ranks: beatsCounting(record.metrics),
    residualQuantiles: residualQuantilesOf(record.metrics),
  };
}

/**
 * Keeps this replica's models in step with PostgreSQL: loads the active versions at start, and
 * the version announced by any replica's activation (NOTIFY) as it happens; after a lost LISTEN
 * connection it reloads whatever is active. A version that fails to load is logged and the one
 * serving keeps serving.
 */
export class ModelSync {
  constructor(
    private readonly pool: DatabasePool,
    private readonly runtime: ModelRuntime,
    private readonly listener: NotificationListener,
    private readonly log: Logger,
  ) {}

  /** Loads the active models and starts following activations. */
  async start(): Promise<void> {
    this.listener.on("notification", (channel: string, payload: string) => {
      if (channel === MODELS_CHANNEL) void this.#loadVersion(payload);
    });
    this.listener.on("reconnected", () => void this.#loadActive());
    await this.#loadActive();
  }

  async #loadActive(): Promise<void> {
    try {
      for (const record of await readActiveModels(this.pool)) await this.#install(record);
    } catch (error) {
      this.log.error({ err: error }, "could not load the active models; the previous ones keep serving");
    }
  }

  async #loadVersion(version: string): Promise<void> {
    try {
      if (this.runtime.snapshot.success?.version === version || this.runtime.snapshot.duration?.version === version) return;
      const record = await readModelVersion(this.pool, version);
      if (record && record.status === "active") await this.#install(record);
    } catch (error) {
      this.log.error({ err: error, version }, "could not load an activated model; the previous one keeps serving");
    }
  }

  async #install(record: ModelRecord): Promise<void> {
    const current = this.runtime.snapshot[record.kind];
    if (current?.version === record.version) return;
    const model = await loadServingModel(record);
    // Activations may race (two announced while one loads): install only what is still active.
    if (!(await isActiveVersion(this.pool, record.version))) {
      void model.session.release();
      return;
    }
    await this.runtime.install(model);
    this.log.info({ version: record.version, kind: record.kind }, "model serving");
  }
}
