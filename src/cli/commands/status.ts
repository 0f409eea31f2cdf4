import { toJson } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { type GetStatusResponse, GetStatusResponseSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningMode } from "../../../gen/agentlearning/v1/learning_pb.js";
import { ModelKind } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { modelFigures } from "../model-table.js";
import { withClient } from "../with-client.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { percent, printResult } from "../output.js";

/** Registers `status`: the operator's first question, "is it up and what does it hold?". */
export function registerStatus(program: Command): void {
  withClientOptions(program.command("status").description("show the service's health, counts and learning state")).action(
    (options: ClientOptions) =>
      withClient(options.address, async ({ admin }) => {
        const status = await admin.getStatus({});
        printResult(
          options,
          () => formatStatus(status, options.address),
          // Every field, defaults included, so scripts can read `.executionCount` on an empty database.
          () => toJson(GetStatusResponseSchema, status, { alwaysEmitImplicit: true }),
        );
      }),
  );
}

/** The human summary of GetStatus, one aligned line per figure. */
export function formatStatus(status: GetStatusResponse, address: string): string {
  const accuracy = status.predictionAccuracy;
  const rows: [string, string][] = [
    ["database", status.databaseReady ? `ready (schema version ${status.schemaVersion})` : "NOT READY"],
    ["started", formatTime(status.startedAt)],
    ["executions", `${status.executionCount} (success rate ${percent(status.successRate)})`],
    ["last recorded", status.lastRecordedAt ? formatTime(status.lastRecordedAt) : "never"],
    ["agents", String(status.agentCount)],
    ["task types", String(status.taskTypeCount)],
    ["combinations", String(status.combinationCount)],
    ["learning", `${modeName(status.learningMode)} mode, ${status.learningEnabled ? "enabled" : "disabled"}`],
    ["insights", String(status.insightCount)],
    ...(status.activeModels.length > 0
      ? status.activeModels.map((m): [string, string] => [
          `${(ModelKind[m.kind] ?? "?").toLowerCase()} model`,
          `${m.version}: ${modelFigures(m)}`,
        ])
      : [["active model", "none (statistical estimates)"] as [string, string]]),
    [
      "predictions",
      accuracy && accuracy.evaluatedCount > 0n
        ? `${accuracy.evaluatedCount} evaluated, Brier score ${accuracy.brierScore.toFixed(3)}, ` +
          `observed ${percent(accuracy.observedSuccessRate)} vs predicted ${percent(accuracy.meanPredictedSuccess)}`
        : "none evaluated yet",
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `agent-learning ${status.serviceVersion} at ${address}`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
  ].join("\n");
}

function formatTime(timestamp: Timestamp | undefined): string {
  return timestamp ? timestampDate(timestamp).toISOString() : "unknown";
}

function modeName(mode: LearningMode): string {
  return (LearningMode[mode] ?? `mode ${mode}`).toLowerCase();
}
