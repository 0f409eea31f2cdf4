import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { z } from "zod";
import {
  ActivateModelResponseSchema,
  type ActivateModelRequest,
  type ActivateModelResponse,
  type GetModelRequest,
  type GetModelResponse,
  GetModelResponseSchema,
  type ListModelsRequest,
  type ListModelsResponse,
  ListModelsResponseSchema,
  ModelKind,
  ModelStatus,
  type ModelVersion,
  ModelVersionSchema,
  type RetrainRequest,
  type RetrainResponse,
  RetrainResponseSchema,
} from "../../gen/agentlearning/v1/admin_service_pb.js";
import {
  activateModelVersion,
  isActiveVersion,
  listModelVersions,
  type ModelSummary,
  readFirstActivation,
  readModelVersion,
  RejectedModelError,
} from "../store/models.js";
import type { ServiceDependencies } from "./dependencies.js";
import { errorWithInfo } from "./errors.js";
import { timestampFromMicros } from "./execution-mapping.js";
import { modelCard } from "./model-card.js";
import { loadServingModel } from "./model-loader.js";
import { recordForcedActivation } from "./rollout-service.js";
import { knownEnum, parseRequest, text } from "./validation.js";

const kinds = { success: ModelKind.SUCCESS, duration: ModelKind.DURATION } as const;
const statuses = { active: ModelStatus.ACTIVE, inactive: ModelStatus.INACTIVE, rejected: ModelStatus.REJECTED } as const;

/** Renders a stored version as the API message. */
export function modelToProto(m: ModelSummary): ModelVersion {
  return create(ModelVersionSchema, {
    version: m.version,
    kind: kinds[m.kind],
    status: statuses[m.status],
    metrics: m.metrics,
    trainingRows: m.training_rows,
    windowStart: m.window_start_us === null ? undefined : timestampFromMicros(m.window_start_us),
    windowEnd: m.window_end_us === null ? undefined : timestampFromMicros(m.window_end_us),
    createdAt: timestampFromMicros(m.created_at_us),
    rejectionReason: m.rejection_reason ?? "",
  });
}

/**
 * Retrain: trains now (in a low-priority child process) and answers with the outcome. A training
 * already under way — this replica's (automatic or asked for) or another replica's — is waited
 * for, within the call's deadline, and its versions are the answer.
 */
export async function retrain(deps: ServiceDependencies, request: RetrainRequest, signal?: AbortSignal): Promise<RetrainResponse> {
  parseRequest(z.object({ force: z.boolean() }), request);
  if (!(await deps.settings.get()).learning_enabled) {
    throw errorWithInfo(Code.FailedPrecondition, "learning is disabled (SetLearningMode learning_enabled=false)", "LEARNING_DISABLED");
  }
  const outcome = await deps.retrainer.retrain("requested", { waitForOthers: true, signal });
  if (outcome.models.length === 0) {
    throw errorWithInfo(Code.FailedPrecondition, `too little history to train on (${outcome.examples} executions)`, "NOT_ENOUGH_DATA");
  }
  // The activated versions' files are written before the answer, so a caller finds them at once.
  for (const m of outcome.models) if (m.accepted) await deps.modelFiles.write(m.version);
  const versions = await listModelVersions(deps.pool, {});
  const trained = new Set(outcome.models.map((m) => m.version));
  return create(RetrainResponseSchema, { models: versions.filter((v) => trained.has(v.version)).map(modelToProto) });
}

const listSchema = z.object({
  kind: knownEnum(ModelKind, { allowUnspecified: true }),
  status: knownEnum(ModelStatus, { allowUnspecified: true }),
});

/** ListModels: versions, newest first. */
export async function listModels(deps: ServiceDependencies, request: ListModelsRequest): Promise<ListModelsResponse> {
  const r = parseRequest(listSchema, request);
  const kind = (Object.entries(kinds) as [keyof typeof kinds, ModelKind][]).find(([, k]) => k === r.kind)?.[0];
  const status = (Object.entries(statuses) as [keyof typeof statuses, ModelStatus][]).find(([, s]) => s === r.status)?.[0];
  const rows = await listModelVersions(deps.pool, { kind, status });
  return create(ListModelsResponseSchema, { models: rows.map(modelToProto) });
}

/**
 * ActivateModel: roll back or forward to a version that passed the holdout gate; every replica
 * follows. Forced: no evidence is judged, and the activation history says so.
 */
export async function activateModel(deps: ServiceDependencies, request: ActivateModelRequest): Promise<ActivateModelResponse> {
  const { version } = parseRequest(z.object({ version: text(128, 1) }), request);
  const record = await readModelVersion(deps.pool, version);
  if (!record) throw errorWithInfo(Code.NotFound, `no model version ${version}`, "MODEL_NOT_FOUND", { version });
  if (record.status === "rejected") {
    throw errorWithInfo(
      Code.FailedPrecondition,
      `model ${version} was rejected by the quality gate: ${record.rejection_reason ?? ""}`,
      "MODEL_REJECTED",
      { version },
    );
  }
  // Load before announcing: a version that cannot load here must not become the fleet's.
  const model = await loadServingModel(record);
  let summary: ModelSummary | null;
  try {
    summary = await activateModelVersion(deps.pool, version, "requested", { forced: true });
  } catch (error) {
    void model.session.release();
    if (error instanceof RejectedModelError) throw errorWithInfo(Code.FailedPrecondition, error.message, "MODEL_REJECTED", { version });
    throw error;
  }
  if (!summary) throw errorWithInfo(Code.NotFound, `no model version ${version}`, "MODEL_NOT_FOUND", { version });
  // Another activation of the same kind may have committed after ours: serve only what is active.
  if (await isActiveVersion(deps.pool, version)) await deps.runtime.install(model);
  else void model.session.release();
  await deps.modelFiles.write(version);
  await recordForcedActivation(deps, version);
  return create(ActivateModelResponseSchema, { model: modelToProto(summary) });
}

/** GetModel: one version's card and ONNX bytes, for use outside the service. */
export async function getModel(deps: ServiceDependencies, request: GetModelRequest): Promise<GetModelResponse> {
  const { version } = parseRequest(z.object({ version: text(128, 1) }), request);
  const record = await readModelVersion(deps.pool, version);
  if (!record) throw errorWithInfo(Code.NotFound, `no model version ${version}`, "MODEL_NOT_FOUND", { version });
  const card = modelCard(record, await readFirstActivation(deps.pool, version));
  return create(GetModelResponseSchema, { model: modelToProto(record), card, onnx: new Uint8Array(record.onnx) });
}
