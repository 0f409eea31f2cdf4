import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { RateEstimate, SuccessSeries } from "../../../gen/agentlearning/v1/report_service_pb.js";
import type { Api } from "../api.js";
import { chart } from "../charts.js";
import { count, h, interval, notice, percent, section, table, when } from "../dom.js";

const BUCKETS = 20;

/** Success over time per task type, with 90% intervals, split by followed recommendations. */
export async function successPage(root: HTMLElement, api: Api, signal: AbortSignal): Promise<void> {
  const report = await api.reports.getSuccessOverTime({ buckets: BUCKETS }, { signal });
  root.append(
    h(
      "p",
      { class: "lead" },
      "Success rate of each task type over time, for executions that followed a recommendation of the service (recorded with its id and its team) and for all others. Shaded: 90% credible intervals, Beta(1 + successes, 1 + failures).",
    ),
  );
  if (report.series.length === 0) {
    root.append(notice("Nothing recorded yet."));
    return;
  }
  for (const series of report.series) root.append(seriesSection(series, signal));
}

function total(series: SuccessSeries, pick: "followed" | "notFollowed"): { n: number; s: number } {
  return series.buckets.reduce(
    (t, b) => ({ n: t.n + Number(b[pick]?.executionCount ?? 0n), s: t.s + Number(b[pick]?.successCount ?? 0n) }),
    { n: 0, s: 0 },
  );
}

function cell(estimate: RateEstimate | undefined): string {
  if (!estimate || estimate.executionCount === 0n) return "—";
  return `${percent(estimate.successRate)} of ${count(estimate.executionCount)} ${interval(estimate.interval)}`;
}

function seriesSection(series: SuccessSeries, signal: AbortSignal): HTMLElement {
  const followed = total(series, "followed");
  const other = total(series, "notFollowed");
  const summary = h(
    "p",
    { "data-testid": `success-summary-${series.taskType}` },
    `Followed: ${followed.n > 0 ? percent(followed.s / followed.n) : "—"} of ${count(followed.n)}; not followed: ${other.n > 0 ? percent(other.s / other.n) : "—"} of ${count(other.n)}.`,
  );
  const card = section(series.taskType, summary);
  const x = series.buckets.map((b) => (timestampDate(b.start!).getTime() + timestampDate(b.end!).getTime()) / 2000);
  const rate = (e: RateEstimate | undefined) => (e && e.executionCount > 0n ? e.successRate : null);
  const bound = (e: RateEstimate | undefined, side: "lower" | "upper") =>
    e && e.executionCount > 0n ? (e.interval?.[side] ?? null) : null;
  chart(
    card,
    {
      title: `Success rate over time for ${series.taskType}, followed against not followed`,
      x,
      xTime: true,
      yLabel: "success rate",
      yRange: [0, 1],
      series: [
        {
          label: "followed",
          color: "--series-1",
          values: series.buckets.map((b) => rate(b.followed)),
          band: {
            label: "followed 90%",
            lower: series.buckets.map((b) => bound(b.followed, "lower")),
            upper: series.buckets.map((b) => bound(b.followed, "upper")),
          },
        },
        {
          label: "not followed",
          color: "--series-2",
          dash: [6, 4],
          values: series.buckets.map((b) => rate(b.notFollowed)),
          band: {
            label: "not followed 90%",
            lower: series.buckets.map((b) => bound(b.notFollowed, "lower")),
            upper: series.buckets.map((b) => bound(b.notFollowed, "upper")),
          },
        },
      ],
    },
    signal,
  );
  const details = h("details", {}, h("summary", {}, "Data"));
  details.append(
    table(
      `Success per time bucket, ${series.taskType}`,
      ["from", "followed", "not followed"],
      series.buckets.map((b) => [when(timestampDate(b.start!)), cell(b.followed), cell(b.notFollowed)]),
      { "data-testid": `success-table-${series.taskType}` },
    ),
  );
  card.append(details);
  return card;
}
