import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ModelKind, ModelStatus, type ModelVersion } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { formatTable } from "./table.js";

/** The headline figure of a version: AUC and log loss for success, MAE for duration. */
export function modelFigures(m: ModelVersion): string {
  const f = m.metrics;
  if (m.kind === ModelKind.SUCCESS) {
    return `AUC ${f.auc?.toFixed(3) ?? "?"}, log loss ${f.log_loss?.toFixed(4) ?? "?"} (base ${f.base_log_loss?.toFixed(4) ?? "?"})`;
  }
  return `MAE ln(1+s) ${f.mae_log_duration?.toFixed(4) ?? "?"} (base ${f.base_mae_log_duration?.toFixed(4) ?? "?"})`;
}

/** Model versions as a table: version, kind, status, figures, training rows, created, and why rejected. */
export function formatModels(models: readonly ModelVersion[], width?: number): string {
  if (models.length === 0) return "no model versions yet (agent-learning retrain)";
  return formatTable(
    [
      { header: "version" },
      { header: "kind" },
      { header: "status" },
      { header: "held-out figures" },
      { header: "rows", align: "right" },
      { header: "created" },
      { header: "note", flex: true },
    ],
    models.map((m) => [
      m.version,
      (ModelKind[m.kind] ?? "?").toLowerCase(),
      (ModelStatus[m.status] ?? "?").toLowerCase(),
      modelFigures(m),
      String(m.trainingRows),
      m.createdAt ? timestampDate(m.createdAt).toISOString() : "",
      m.rejectionReason,
    ]),
    { width },
  );
}
