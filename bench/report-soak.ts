// The report's table for the soak: the mixed load per RPC kind, the ledger check and the child's RSS.
import type { SoakFigures } from "./soak.js";
import type { KindFigures } from "./soak-load.js";
import { formatMiB, formatMicros, formatNumber } from "./stats.js";
import { table } from "./table.js";

const errorsCell = (f: { errorCount: number; errors: Record<string, number> }) =>
  f.errorCount === 0
    ? "0"
    : `${f.errorCount} (${Object.entries(f.errors)
        .map(([code, n]) => `${code} ${n}`)
        .join(", ")})`;

function kindRow(name: string, f: KindFigures, unit = ""): string[] {
  return [
    name,
    String(f.callers),
    `${formatNumber(f.calls, 0)}${unit}`,
    formatNumber(f.callsPerSecond, 1),
    formatMicros(f.p50Us),
    formatMicros(f.p99Us),
    errorsCell(f),
  ];
}

/** The held insight streams as one row: messages received instead of calls, latency from publish to arrival. */
function streamRow(s: SoakFigures): string[] {
  const messages = s.subscribers.reduce((n, x) => n + x.insights + x.heartbeats, 0);
  const errors = s.subscribers.reduce((n, x) => n + x.errorCount, 0);
  const codes: Record<string, number> = {};
  for (const x of s.subscribers) for (const [code, n] of Object.entries(x.errors)) codes[code] = (codes[code] ?? 0) + n;
  return [
    "StreamInsights (held open; publish → arrival)",
    String(s.subscribers.length),
    `${formatNumber(messages, 0)} messages`,
    formatNumber(messages / s.record.seconds, 1),
    formatMicros(s.delivery.p50Us),
    formatMicros(s.delivery.p99Us),
    errorsCell({ errorCount: errors, errors: codes }),
  ];
}

/** Section 8: the bounded soak; its last line says whether it passed and, if not, why. */
export function renderSoak(s: SoakFigures): string {
  const p = s.plan;
  const out = [
    `8. Soak: ${p.durationMs / 1000} s of mixed load on \`agent-learning serve\` in a child process (LOG_LEVEL=warn, service defaults: ` +
      `automatic analysis and retraining on), clients in the bench process over gRPC/h2c, one HTTP/2 connection; ` +
      `after ${p.warmupMs / 1000} s of warm-up; no-op baseline ${p.noopMs / 1000} s before and after`,
  ];
  const rows = [
    kindRow("Health/Check (no-op) before", s.noopBefore),
    kindRow("RecordExecution", s.record),
    kindRow("PredictAgents", s.predict),
    kindRow(`RecordExecutions (${p.bulkSize}/stream, every ${p.bulkEveryMs / 1000} s)`, s.bulk, " streams"),
    streamRow(s),
    kindRow("Health/Check (no-op) after", s.noopAfter),
  ];
  out.push(table(["RPC", "callers", "calls", "calls/s", "p50", "p99", "errors"], rows));

  const seconds = s.record.seconds;
  const executionsPerSecond = (s.acknowledged.unary + s.acknowledged.bulk) / seconds;
  out.push(
    `executions recorded during the soak: ${formatNumber(executionsPerSecond, 0)}/s (${formatNumber(s.acknowledged.unary, 0)} unary + ${formatNumber(s.acknowledged.bulk, 0)} in streams)`,
  );
  const streams = s.subscribers.map(
    (x, i) =>
      `#${i + 1} ${x.insights} insights (owed ${x.owed} up to its last cursor; ${x.undelivered} more committed but not yet arrived at the close), ${x.heartbeats} heartbeats, reopened ${x.reopened}`,
  );
  out.push(`StreamInsights: the feed got ${s.feedEvents} events while the streams were open; ${streams.join("; ")}`);
  const sources = Object.entries(s.predictSources)
    .map(([source, n]) => `${source} ${formatNumber(n, 0)}`)
    .join(", ");
  out.push(
    `PredictAgents answered by (first recommendation): ${sources || "none"}; model versions written by automatic retraining: ${s.ledger.modelVersions}`,
  );

  const l = s.ledger;
  const a = s.acknowledged;
  const ledgerOk = l.stored === a.total && l.acknowledgedStored === a.total && l.aggregated === l.stored;
  out.push(
    `ledger (SQL after the run): acknowledged ${formatNumber(a.total, 0)} (warm-up ${formatNumber(a.warmup, 0)} + unary ${formatNumber(a.unary, 0)} + streams ${formatNumber(a.bulk, 0)}); ` +
      `stored ${formatNumber(l.stored, 0)}, of them acknowledged ${formatNumber(l.acknowledgedStored, 0)}, counted by the aggregates ${formatNumber(l.aggregated, 0)}: ` +
      (ledgerOk ? "none lost, none twice" : "MISMATCH"),
  );

  const r = s.rss;
  const [t1, t2, t3] = r.thirdsMedianBytes;
  out.push(
    `server RSS (VmRSS every ${p.rssEveryMs / 1000} s, ${r.samples} samples): ${formatMiB(s.rssBootBytes)} idle after start; ` +
      `${formatMiB(r.startBytes)} at start (after warm-up), ${formatMiB(r.endBytes)} at end, ${formatMiB(r.maxBytes)} max`,
  );
  out.push(
    `server RSS by thirds of the run (medians): ${formatMiB(t1)} / ${formatMiB(t2)} / ${formatMiB(t3)}; ` +
      `growth first → last third ${r.growthBytes >= 0 ? "+" : ""}${formatMiB(r.growthBytes)} (${((r.growthBytes / t1) * 100).toFixed(1)}%)`,
  );
  out.push(`server: ${s.serverLogLines} log lines at warn or above; stopped with SIGTERM: ${s.serverExit}`);
  if (s.serverLogLines > 0) out.push(`  last: ${s.serverLogTail.trimEnd().split("\n").slice(-3).join("\n  ")}`);
  if (s.failures.length === 0) {
    out.push("soak passed: 0 errors, the database holds exactly the acknowledged executions, the server drained cleanly");
  } else {
    out.push(`SOAK FAILED (${s.failures.length}):`, ...s.failures.map((f) => `  - ${f}`));
  }
  return out.join("\n");
}
