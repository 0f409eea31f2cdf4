import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ModelKind, ModelStatus } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import type { GetModelReportResponse } from "../../../gen/agentlearning/v1/report_service_pb.js";
import type { Api } from "../api.js";
import { chart } from "../charts.js";
import { count, h, notice, percent, prob, seconds, section, table, when } from "../dom.js";

/** Models: versions over time with held-out figures and activations; calibration; durations. */
export async function modelsPage(root: HTMLElement, api: Api, signal: AbortSignal): Promise<void> {
  const report = await api.reports.getModelReport({ calibrationBins: 10, durationPoints: 500 }, { signal });
  root.append(versionsSection(report, signal), calibrationSection(report, signal), durationsSection(report, signal));
}

const kindName = (kind: ModelKind) => (kind === ModelKind.SUCCESS ? "success" : "duration");
const statusName = (status: ModelStatus) => (ModelStatus[status] ?? "unknown").toLowerCase();
const metric = (metrics: { [name: string]: number }, name: string) => (metrics[name] === undefined ? "—" : metrics[name].toFixed(3));

function versionsSection(report: GetModelReportResponse, signal: AbortSignal): HTMLElement {
  const card = section("Versions");
  if (report.versions.length === 0) {
    card.append(notice("No model has been trained yet: recommendations come from the statistical estimates."));
    return card;
  }
  const periods = (version: string) =>
    report.activations
      .filter((a) => a.version === version)
      .map((a) => `${when(timestampDate(a.activatedAt!))} → ${a.deactivatedAt ? when(timestampDate(a.deactivatedAt)) : "now"}`)
      .join("; ") || "never";
  card.append(
    table(
      "Every version, newest first, with its held-out figures and when it served",
      ["version", "kind", "status", "trained", "rows", "AUC", "log loss", "base log loss", "MAE ln(1+s)", "served"],
      report.versions.map((v) => [
        v.version,
        kindName(v.kind),
        statusName(v.status),
        when(v.createdAt ? timestampDate(v.createdAt) : undefined),
        count(v.trainingRows),
        metric(v.metrics, "auc"),
        metric(v.metrics, "log_loss"),
        metric(v.metrics, "base_log_loss"),
        metric(v.metrics, "mae_log_duration"),
        periods(v.version),
      ]),
      { "data-testid": "model-versions" },
    ),
  );
  const success = [...report.versions].filter((v) => v.kind === ModelKind.SUCCESS && v.metrics.auc !== undefined).reverse();
  // A trend needs two versions; one is in the table already.
  if (success.length > 1) {
    chart(
      card,
      {
        title: "Held-out AUC of each success model version, by training time",
        x: success.map((v) => Number(v.createdAt?.seconds ?? 0n)),
        xTime: true,
        yLabel: "held-out AUC",
        series: [{ label: "AUC", color: "--series-1", values: success.map((v) => v.metrics.auc ?? null) }],
      },
      signal,
    );
  }
  return card;
}

function calibrationSection(report: GetModelReportResponse, signal: AbortSignal): HTMLElement {
  const calibration = report.calibration;
  const card = section("Calibration of credited recommendations");
  if (!calibration || calibration.evaluatedCount === 0n) {
    card.append(notice("No recommendation has been credited yet: record executions with the recommendation_id they followed."));
    return card;
  }
  card.append(
    h(
      "div",
      { class: "stats" },
      h(
        "div",
        { class: "stat" },
        h("div", { class: "stat-label" }, "Expected calibration error"),
        h("div", { class: "stat-value", "data-testid": "ece" }, prob(calibration.expectedCalibrationError)),
      ),
      h(
        "div",
        { class: "stat" },
        h("div", { class: "stat-label" }, "Brier score"),
        h("div", { class: "stat-value", "data-testid": "calibration-brier" }, prob(calibration.brierScore)),
      ),
      h(
        "div",
        { class: "stat" },
        h("div", { class: "stat-label" }, "Credited"),
        h("div", { class: "stat-value", "data-testid": "calibration-count" }, count(calibration.evaluatedCount)),
      ),
    ),
  );
  const filled = calibration.bins.filter((b) => b.count > 0n);
  // The diagonal runs corner to corner: the end points carry no observation.
  const x = [0, ...filled.map((b) => b.meanPredicted), 1];
  chart(
    card,
    {
      title: "Reliability diagram: observed success rate against mean predicted probability per bin",
      x,
      xTime: false,
      xLabel: "mean predicted probability",
      yLabel: "observed rate",
      xRange: [0, 1],
      yRange: [0, 1],
      series: [
        { label: "observed rate per bin", color: "--series-1", values: [null, ...filled.map((b) => b.observedRate), null] },
        { label: "perfect calibration", color: "--series-3", dash: [4, 4], values: x },
      ],
    },
    signal,
  );
  card.append(
    h(
      "details",
      {},
      h("summary", {}, "Data"),
      table(
        "Reliability bins",
        ["predicted", "count", "mean predicted", "observed"],
        calibration.bins.map((b) => [
          `${prob(b.lower)}–${prob(b.upper)}`,
          count(b.count),
          b.count > 0n ? prob(b.meanPredicted) : "—",
          b.count > 0n ? percent(b.observedRate) : "—",
        ]),
        { "data-testid": "calibration-bins" },
      ),
    ),
  );
  return card;
}

function durationsSection(report: GetModelReportResponse, signal: AbortSignal): HTMLElement {
  const card = section("Predicted against actual durations");
  if (report.durations.length === 0) {
    card.append(notice("No credited execution yet."));
    return card;
  }
  // uPlot wants x ascending: sort the points by predicted duration.
  const points = [...report.durations].sort((a, b) => a.predictedSeconds - b.predictedSeconds);
  const logError = points.map((p) => Math.abs(Math.log1p(p.actualSeconds) - Math.log1p(p.predictedSeconds))).sort((a, b) => a - b);
  const median = logError[Math.floor(logError.length / 2)] ?? 0;
  card.append(
    h(
      "p",
      { "data-testid": "duration-summary" },
      `${count(points.length)} credited executions; median |ln(1 + actual) − ln(1 + predicted)| = ${median.toFixed(3)} (a factor of about ${Math.exp(median).toFixed(2)}); median actual ${seconds(points.map((p) => p.actualSeconds).sort((a, b) => a - b)[Math.floor(points.length / 2)] ?? 0)}.`,
    ),
  );
  chart(
    card,
    {
      title: "Actual duration against the recommendation's expected duration, seconds, log scales",
      x: points.map((p) => Math.max(1, p.predictedSeconds)),
      xTime: false,
      xLabel: "predicted (s)",
      yLabel: "actual (s)",
      log: true,
      series: [
        { label: "executions", color: "--series-1", pointsOnly: true, values: points.map((p) => Math.max(1, p.actualSeconds)) },
        { label: "actual = predicted", color: "--series-3", dash: [4, 4], values: points.map((p) => Math.max(1, p.predictedSeconds)) },
      ],
    },
    signal,
  );
  return card;
}
