import { timestampDate } from "@bufbuild/protobuf/wkt";
import { LearningMode } from "../../../gen/agentlearning/v1/learning_pb.js";
import { HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import type { Api } from "../api.js";
import { chart } from "../charts.js";
import { count, h, percent, prob, section, stat, table, when } from "../dom.js";

/** Buckets of the throughput chart. */
const THROUGHPUT_BUCKETS = 24;

/** Overview: health, counts, learning mode, active models, recent throughput. */
export async function overviewPage(root: HTMLElement, api: Api, signal: AbortSignal): Promise<void> {
  const [health, status, success] = await Promise.all([
    api.health.check({ service: "" }, { signal }),
    api.admin.getStatus({}, { signal }),
    api.reports.getSuccessOverTime({ buckets: THROUGHPUT_BUCKETS }, { signal }),
  ]);
  const serving = health.status === HealthCheckResponse_ServingStatus.SERVING;
  const accuracy = status.predictionAccuracy;
  root.append(
    section(
      "Service",
      h(
        "div",
        { class: "stats" },
        stat("Health", serving ? "serving" : "not serving", "health"),
        stat("Database", status.databaseReady ? `ready (schema ${status.schemaVersion})` : "unavailable", "database"),
        stat("Learning mode", `${modeName(status.learningMode)}${status.learningEnabled ? "" : " (learning off)"}`, "mode"),
        stat("Version", status.serviceVersion, "version"),
        stat("Started", when(status.startedAt ? timestampDate(status.startedAt) : undefined), "started"),
        stat("Last recorded", when(status.lastRecordedAt ? timestampDate(status.lastRecordedAt) : undefined), "last-recorded"),
      ),
    ),
    section(
      "Counts",
      h(
        "div",
        { class: "stats" },
        stat("Executions", count(status.executionCount), "execution-count"),
        stat("Success rate", percent(status.successRate), "success-rate"),
        stat("Task types", count(status.taskTypeCount), "task-type-count"),
        stat("Agents", count(status.agentCount), "agent-count"),
        stat("Teams", count(status.combinationCount), "combination-count"),
        stat("Active insights", count(status.insightCount), "insight-count"),
        stat("Credited recommendations", count(accuracy?.evaluatedCount ?? 0n), "evaluated-count"),
        stat("Brier score", accuracy && accuracy.evaluatedCount > 0n ? prob(accuracy.brierScore) : "—", "brier"),
      ),
    ),
    section(
      "Active models",
      status.activeModels.length === 0
        ? h("p", {}, "No trained model is active: recommendations come from the statistical estimates.")
        : table(
            "Models serving now, with their held-out figures",
            ["version", "kind", "training rows", "held-out figures"],
            status.activeModels.map((m) => [
              m.version,
              m.kind === 1 ? "success" : "duration",
              count(m.trainingRows),
              Object.entries(m.metrics)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([name, value]) => `${name} ${value.toFixed(3)}`)
                .join(", "),
            ]),
            { "data-testid": "active-models" },
          ),
    ),
  );
  const throughput = section("Recent throughput");
  root.append(throughput);
  const buckets = success.series[0]?.buckets ?? [];
  if (buckets.length === 0) {
    throughput.append(h("p", {}, "Nothing recorded yet."));
    return;
  }
  const x = buckets.map((b) => (Number(b.start?.seconds ?? 0n) + Number(b.end?.seconds ?? 0n)) / 2);
  const perMinute = buckets.map((_, k) => {
    const executions = success.series.reduce(
      (n, s) => n + Number(s.buckets[k]?.followed?.executionCount ?? 0n) + Number(s.buckets[k]?.notFollowed?.executionCount ?? 0n),
      0,
    );
    const b = buckets[k]!;
    const minutes = Math.max(1e-3, (timestampDate(b.end!).getTime() - timestampDate(b.start!).getTime()) / 60_000);
    return executions / minutes;
  });
  throughput.append(
    h(
      "p",
      {},
      `The newest ${count(success.executionCount)} executions, in ${buckets.length} equal time buckets; latest: `,
      h("strong", { "data-testid": "throughput-latest" }, `${(perMinute.at(-1) ?? 0).toFixed(1)} executions/min`),
      ".",
    ),
  );
  chart(
    throughput,
    {
      title: "Executions recorded per minute",
      x,
      xTime: true,
      yLabel: "executions / min",
      series: [{ label: "executions / min", color: "--series-1", values: perMinute }],
    },
    signal,
  );
}

/** The mode's name as the README writes it. */
export function modeName(mode: LearningMode): string {
  return (LearningMode[mode] ?? "unknown").toLowerCase();
}
