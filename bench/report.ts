import type { BulkFigures } from "./bulk-ingest.js";
import type { CopyFigures, CsvEncoding } from "./copy-baseline.js";
import type { InferenceFigures } from "./inference.js";
import type { PredictFigures } from "./predict.js";
import { type PropensityFigures, renderPropensity } from "./propensity.js";
import { renderShadow, type ShadowFigures } from "./shadow.js";
import { renderInference, renderPredict, renderTrain } from "./report-models.js";
import { renderQuality } from "./report-quality.js";
import type { QualityFigures } from "./learning-quality.js";
import { renderSoak } from "./report-soak.js";
import type { SoakFigures } from "./soak.js";
import { formatMiB, formatMicros, formatNumber } from "./stats.js";
import { ratio, table } from "./table.js";
import type { TrainFigures } from "./train.js";
import { type AnalyzeFigure, renderAnalyzeScaling } from "./analyze-scaling.js";
import { type EvaluateFigure, renderEvaluate } from "./evaluate-policies.js";
import type { UnaryLevel } from "./unary-ingest.js";

/** Everything one run measured, as printed and as the --json summary. */
export interface BenchResults {
  meta: Record<string, string | number | boolean>;
  unary?: UnaryLevel[];
  bulk?: BulkFigures;
  copy?: CopyFigures[];
  csvEncoding?: CsvEncoding;
  train?: TrainFigures;
  inference?: InferenceFigures;
  predict?: PredictFigures;
  propensity?: PropensityFigures;
  shadow?: ShadowFigures;
  analyze?: AnalyzeFigure[];
  evaluate?: EvaluateFigure[];
  soak?: SoakFigures;
  quality?: QualityFigures;
  ratios: {
    recordVsNoopThroughputC8?: number;
    recordVsNoopThroughputC32?: number;
    bulkVsCopyNoIndexes?: number;
    bulkVsCopyPrimaryKey?: number;
    bulkVsCopyAllIndexes?: number;
    /** PredictAgents p50 over Health/Check p50 at c=1, model serving / statistical estimates. */
    predictModelVsNoopP50C1?: number;
    predictStatisticalVsNoopP50C1?: number;
    /** PredictAgents p99 while retrains run over its idle p99, at c=1 and c=8. */
    predictDuringRetrainP99C1?: number;
    predictDuringRetrainP99C8?: number;
    /** trainModels on 10^5 examples: seconds and the child's peak RSS in MiB. */
    train1e5Seconds?: number;
    train1e5PeakRssMiB?: number;
    /** Soak RecordExecution p99 under the mixed load over the no-op p99 alone at the same concurrency, same server. */
    soakRecordVsNoopP99?: number;
    /** The no-op p99 after the soak over before it: above 1 means the server came out slower. */
    soakNoopAfterVsBeforeP99?: number;
    /** The child's RSS, median of the last third of the soak over the first. */
    soakRssLastVsFirstThird?: number;
  };
}

/** The ratios the closing lines state, computed from figures measured in this same run. */
export function ratiosOf(results: Omit<BenchResults, "ratios">): BenchResults["ratios"] {
  const c8 = results.unary?.find((l) => l.concurrency === 8);
  const copy = (key: CopyFigures["key"]) => results.copy?.find((c) => c.key === key)?.rowsPerSecond;
  const over = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a / b : undefined);
  const p = results.predict;
  const t5 = results.train?.sizes.find((s) => s.rows === 100_000 && s.finished);
  const soak = results.soak;
  return {
    recordVsNoopThroughputC8: c8?.throughputRatio,
    recordVsNoopThroughputC32: results.unary?.find((l) => l.concurrency === 32)?.throughputRatio,
    bulkVsCopyNoIndexes: over(results.bulk?.rowsPerSecond, copy("no_indexes")),
    bulkVsCopyPrimaryKey: over(results.bulk?.rowsPerSecond, copy("primary_key")),
    bulkVsCopyAllIndexes: over(results.bulk?.rowsPerSecond, copy("all_indexes")),
    predictModelVsNoopP50C1: p?.model.find((l) => l.concurrency === 1)?.p50Ratio,
    predictStatisticalVsNoopP50C1: p?.statistical.find((l) => l.concurrency === 1)?.p50Ratio,
    predictDuringRetrainP99C1: p?.duringRetrain.find((l) => l.concurrency === 1)?.p99Ratio,
    predictDuringRetrainP99C8: p?.duringRetrain.find((l) => l.concurrency === 8)?.p99Ratio,
    train1e5Seconds: t5?.trainSeconds,
    train1e5PeakRssMiB: t5 ? t5.peakRssBytes / 1024 / 1024 : undefined,
    soakRecordVsNoopP99: over(soak?.record.p99Us, soak?.noopBefore.p99Us),
    soakNoopAfterVsBeforeP99: over(soak?.noopAfter.p99Us, soak?.noopBefore.p99Us),
    soakRssLastVsFirstThird: over(soak?.rss.thirdsMedianBytes[2], soak?.rss.thirdsMedianBytes[0]),
  };
}

/** The human-readable report; its last lines state the headline ratios. */
export function renderReport(results: BenchResults): string {
  const analyze = results.analyze ? `\n\n${renderAnalyzeScaling(results.analyze)}` : "";
  const evaluate = results.evaluate ? `\n\n${renderEvaluate(results.evaluate)}` : "";
  return `${renderSections(results)}${analyze}${evaluate}`;
}

function renderSections(results: BenchResults): string {
  const out: string[] = [];
  const m = results.meta;
  out.push(`agent-learning bench  ${m.startedAt}`);
  out.push(
    `machine: ${m.cpus} × ${m.cpuModel}, node ${m.node}; PostgreSQL ${m.pgVersion} (${m.database}; fsync=${m.fsync}, synchronous_commit=${m.synchronousCommit}, shared_buffers=${m.sharedBuffers})`,
  );
  out.push(`load average (1 min, ${m.cpus} CPUs): ${m.loadAverageStart} at start, ${m.loadAverageEnd} at end; run took ${m.seconds} s`);
  out.push(
    `mode: ${m.mode}; server in-process (logLevel silent, pool ${m.poolSize} connections, bulk batch ${m.bulkBatchSize}); clients in the same process over gRPC/h2c, one HTTP/2 connection`,
  );

  if (results.unary) {
    out.push(
      "",
      `1-2. Unary, closed loop: median of ${m.unaryRounds} rounds of ${m.noopMs} ms no-op then ${m.recordMs} ms RecordExecution (fresh database per concurrency; automatic analysis and retraining off)`,
    );
    const rows: string[][] = [];
    for (const l of results.unary) {
      const rss = `${formatMiB(l.rssBeforeBytes)} → ${formatMiB(l.rssAfterBytes)}`;
      rows.push([
        "Health/Check (no-op)",
        String(l.concurrency),
        formatNumber(l.noop.callsPerSecond, 0),
        formatMicros(l.noop.p50Us),
        formatMicros(l.noop.p99Us),
        `${l.loopDelayNoop.p99Ms.toFixed(2)} ms`,
        "",
        "",
      ]);
      rows.push([
        "RecordExecution",
        String(l.concurrency),
        formatNumber(l.record.callsPerSecond, 0),
        formatMicros(l.record.p50Us),
        formatMicros(l.record.p99Us),
        `${l.loopDelayRecord.p99Ms.toFixed(2)} ms`,
        rss,
        String(l.executionsAcknowledged),
      ]);
    }
    out.push(table(["RPC", "conc", "calls/s", "p50", "p99", "loop delay p99", "RSS before → after", "stored (checked)"], rows));
    out.push(
      "",
      table(
        ["conc", "RecordExecution/no-op calls/s", "p50 overhead vs no-op", "worst loop stall (RecordExecution)"],
        results.unary.map((l) => [
          String(l.concurrency),
          ratio(l.throughputRatio),
          `+${formatMicros(l.p50OverheadUs)}`,
          `${l.loopDelayRecord.maxMs.toFixed(1)} ms`,
        ]),
      ),
    );
  }

  if (results.bulk || results.copy) {
    out.push(
      "",
      `3-4. Bulk ingest of the same ${formatNumber(results.bulk?.rows ?? results.copy?.[0]?.rows ?? 0, 0)} executions (stream: median of ${m.bulkRounds} rounds, fresh database each, automatic analysis and retraining off, per-stream rate cap lifted; COPY: median of ${m.copyRounds} rounds, new tables each)`,
    );
    const rows: string[][] = [];
    const b = results.bulk;
    if (b) {
      rows.push([
        `RecordExecutions (stream, ${b.messageSize}/message)`,
        formatNumber(b.rowsPerSecond, 0),
        `${b.medianSeconds.toFixed(2)} s`,
        b.roundRowsPerSecond.map((r) => formatNumber(r, 0)).join(" / "),
        "1.000",
      ]);
    }
    for (const c of results.copy ?? []) {
      rows.push([
        c.label,
        formatNumber(c.rowsPerSecond, 0),
        `${c.medianSeconds.toFixed(2)} s`,
        c.roundRowsPerSecond.map((r) => formatNumber(r, 0)).join(" / "),
        b ? ratio(b.rowsPerSecond / c.rowsPerSecond) : "n/a",
      ]);
    }
    out.push(table(["path", "rows/s", "time", "rows/s per round", "bulk/this"], rows));
    const enc = results.csvEncoding;
    if (enc) {
      out.push(
        `COPY figures include encoding the CSV in the client (with the service's derived columns and SHA-256), as the stream's include encoding its messages; the encoding alone: ${formatNumber(enc.rowsPerSecond, 0)} rows/s, ${formatMiB(enc.bytes)}`,
      );
    }
    if (b) {
      out.push(
        `RecordExecutions: loop delay p99 ${b.loopDelay.p99Ms.toFixed(2)} ms, max ${b.loopDelay.maxMs.toFixed(1)} ms; RSS ${formatMiB(b.rssBeforeBytes)} → ${formatMiB(b.rssAfterBytes)}; every round stored all rows and GetStatus agreed`,
      );
    }
  }

  if (results.train) out.push("", renderTrain(results.train));
  if (results.inference) out.push("", renderInference(results.inference, m));
  if (results.predict) out.push("", renderPredict(results.predict, m));
  if (results.propensity) out.push("", renderPropensity(results.propensity));
  if (results.shadow) out.push("", renderShadow(results.shadow));
  if (results.quality) out.push("", renderQuality(results.quality));
  if (results.soak) out.push("", renderSoak(results.soak));

  out.push("");
  if (results.unary || results.bulk || results.predict) {
    out.push(`Sanity: GetStatus execution_count matched the acknowledged executions after every section that records executions.`);
  }
  const r = results.ratios;
  if (results.unary)
    out.push(
      `RecordExecution/no-op throughput at c=8: ${ratio(r.recordVsNoopThroughputC8)}, at c=32: ${ratio(r.recordVsNoopThroughputC32)}`,
    );
  if (results.bulk || results.copy) {
    out.push(
      `bulk/COPY rows/s: ${ratio(r.bulkVsCopyAllIndexes)} (against COPY into a table with all of executions' indexes and checks; ` +
        `${ratio(r.bulkVsCopyPrimaryKey)} with its primary key only, ${ratio(r.bulkVsCopyNoIndexes)} without indexes)`,
    );
  }
  if (results.predict) {
    out.push(
      `PredictAgents/no-op p50 at c=1: ${ratio(r.predictModelVsNoopP50C1, 2)} (model serving; ${ratio(r.predictStatisticalVsNoopP50C1, 2)} with statistical estimates)`,
    );
    out.push(
      `PredictAgents p99 during retrain / idle: ${ratio(r.predictDuringRetrainP99C1, 2)} (c=1; ${ratio(r.predictDuringRetrainP99C8, 2)} at c=8; target ≤ 1.3)`,
    );
  }
  if (results.propensity) {
    const level = (e: number) => results.propensity?.levels.find((l) => l.exploration === e)?.p50Ratio;
    const q = (n: number) => results.propensity?.quadrature.find((f) => f.contenders === n)?.medianMs;
    out.push(
      `propensities: quadrature ${ratio(q(8), 2)} ms at 8 contenders, ${ratio(q(32), 2)} ms at 32; PredictAgents/no-op p50 at c=1: ${ratio(level(0), 2)} at ε=0, ${ratio(level(0.3), 2)} at ε=0.3`,
    );
  }
  if (results.shadow) {
    out.push(
      `shadow scoring: ${formatMicros(results.shadow.inProcess.shadowUs)} per call in process (the champion's ranking ${formatMicros(results.shadow.inProcess.championUs)}); ` +
        `PredictAgents p50 +${formatMicros(results.shadow.addedP50Us)} at c=1 through the server (with/without ${ratio(results.shadow.p50Ratio, 2)})`,
    );
  }
  if (results.soak) {
    out.push(
      `soak RecordExecution p99 / no-op p99 (c=${results.soak.plan.recordCallers}, same server): ${ratio(r.soakRecordVsNoopP99, 2)}; ` +
        `no-op p99 after / before the soak ${ratio(r.soakNoopAfterVsBeforeP99, 2)}; ` +
        `server RSS last / first third ${ratio(r.soakRssLastVsFirstThird, 3)}; ${results.soak.failures.length === 0 ? "soak passed" : "SOAK FAILED"}`,
    );
  }
  if (results.train) {
    const t5 = results.train.sizes.find((s) => s.rows === 100_000);
    out.push(
      t5?.finished
        ? `train 10^5 examples: ${ratio(r.train1e5Seconds, 1)} s, peak RSS ${ratio(r.train1e5PeakRssMiB, 0)} MiB`
        : `train 10^5 examples: did not finish within ${results.train.timeoutMs / 1000} s`,
    );
  }
  return out.join("\n");
}
