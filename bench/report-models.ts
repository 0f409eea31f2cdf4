// The report's tables for the model sections: training, inference, PredictAgents on the server.
import type { InferenceFigures } from "./inference.js";
import { FIXED_COMPLEXITY, type PredictFigures, type SourceCounts } from "./predict.js";
import { formatMiB, formatMicros, formatNumber, median } from "./stats.js";
import { ratio, table } from "./table.js";
import type { TrainFigures } from "./train.js";

type Meta = Record<string, string | number | boolean>;

const power = (rows: number) => {
  const exponent = Math.log10(rows);
  return Number.isInteger(exponent) ? `10^${exponent}` : formatNumber(rows, 0);
};

/** Section 5: trainModels at each size, in its own child process. */
export function renderTrain(t: TrainFigures): string {
  const out = [
    `5. Training: trainModels (success + duration GBDT, quality gate, ONNX export) on the bench world, one child process per size, one run each (limit ${t.timeoutMs / 1000} s)`,
  ];
  const rows = t.sizes.map((s) => {
    if (!s.finished) {
      return [power(s.rows), `stopped after ${s.trainSeconds.toFixed(1)} s`, "", "", "", "", "", "", formatMiB(s.peakRssBytes), "", ""];
    }
    const trees = s.trees
      ? `${s.trees.success}${s.trees.success === t.maxTrees ? "*" : ""} / ${s.trees.duration}${s.trees.duration === t.maxTrees ? "*" : ""}`
      : "";
    const gate = s.accepted ? `${s.accepted.success ? "pass" : "REJECT"} / ${s.accepted.duration ? "pass" : "REJECT"}` : "";
    const growth = s.rssBeforeBytes === undefined ? "" : formatMiB(s.peakRssBytes - s.rssBeforeBytes);
    const heap =
      s.heapUsedBeforeBytes === undefined || s.heapUsedAfterBytes === undefined
        ? ""
        : `${formatMiB(s.heapUsedBeforeBytes)} → ${formatMiB(s.heapUsedAfterBytes)}`;
    return [
      power(s.rows),
      `${s.trainSeconds.toFixed(2)} s`,
      formatNumber(s.rows / s.trainSeconds, 0),
      trees,
      gate,
      ratio(s.successAuc),
      s.onnxBytes === undefined ? "" : `${(s.onnxBytes / 1024).toFixed(0)} KiB`,
      s.rssBeforeBytes === undefined ? "" : formatMiB(s.rssBeforeBytes),
      formatMiB(s.peakRssBytes),
      growth,
      heap,
    ];
  });
  out.push(
    table(
      [
        "examples",
        "trainModels",
        "examples/s",
        "trees succ/dur",
        "gate succ/dur",
        "succ AUC",
        "ONNX (both)",
        "RSS before",
        "peak RSS",
        "growth",
        "heap before → after",
      ],
      rows,
    ),
  );
  out.push(
    `* = the maxTrees cap (${t.maxTrees}): early stopping never triggered. Trees are those kept (up to the best validation round); early stopping grows up to 20 more that are dropped.`,
  );
  out.push(
    `RSS before = the child once its examples are built and collected (Node's own baseline included); peak = its maxRSS; growth = peak − before, the trainer's own footprint.`,
  );
  for (const s of t.sizes.filter((x) => !x.finished)) {
    out.push(
      `${power(s.rows)} examples did not finish within ${t.timeoutMs / 1000} s (it had trained for ${s.trainSeconds.toFixed(1)} s, peak RSS so far ${formatMiB(s.peakRssBytes)}); ` +
        (s.extrapolatedSeconds === undefined
          ? "no extrapolation (too few finished sizes)."
          : `the growth between the finished sizes predicts ~${s.extrapolatedSeconds.toFixed(0)} s.`),
    );
  }
  return out.join("\n");
}

/** Section 6: onnxruntime against the TypeScript evaluation of the same trees. */
export function renderInference(f: InferenceFigures, m: Meta): string {
  const out = [
    `6. Inference: the success model (trained on ${formatNumber(f.trainingRows, 0)} examples: ${f.trees} trees, ${f.featureCount} features, ONNX ${(f.onnxBytes / 1024).toFixed(0)} KiB) loaded with loadSession in ${f.loadMs.toFixed(1)} ms; ${m.inferenceRuns} timed runs per case, each awaited`,
  ];
  out.push(
    table(
      ["engine, batch", "p50", "p99", "max", "rows/s at p50"],
      f.cases.map((c) => [c.label, formatMicros(c.p50Us), formatMicros(c.p99Us), formatMicros(c.maxUs), formatNumber(c.rowsPerSecond, 0)]),
    ),
  );
  const p50 = (engine: string, rows: number) => f.cases.find((c) => c.engine === engine && c.rows === rows)?.p50Us;
  const over = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a / b : undefined);
  out.push(
    `onnxruntime/predictValue p50: ${ratio(over(p50("onnxruntime", 1), p50("predictValue", 1)), 1)} at 1 row, ` +
      `${ratio(over(p50("onnxruntime", 256), p50("predictValue", 256)), 2)} at 256 rows; max |onnxruntime − predictValue| over the batch ${f.maxAbsDiff.toExponential(1)}`,
  );
  out.push(
    `onnxruntime's run blocks the event loop for its native part (STACK-NOTES); its latency includes the setImmediate hop session.run() makes first.`,
  );
  return out.join("\n");
}

function sources(counts: SourceCounts): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name.toLowerCase()} ${((100 * n) / Math.max(1, total)).toFixed(0)}%`)
    .join(", ");
}

/** Section 7: PredictAgents on the real server, before and after Retrain, and during retraining. */
export function renderPredict(p: PredictFigures, m: Meta): string {
  const out = [
    `7. PredictAgents on the server in-process after recording ${formatNumber(p.executions, 0)} executions of the bench world (automatic analysis and retraining off; evidence cache default; learning mode adaptive): ` +
      `median of ${m.predictRounds} rounds of ${m.predictNoopMs} ms no-op then ${m.predictMs} ms PredictAgents, one database throughout`,
  ];
  const rows: string[][] = [];
  const fixed = `model, complexity ${FIXED_COMPLEXITY} only`;
  const phases = [
    ["statistical (no model)", p.statistical],
    ["model (after Retrain)", p.model],
    [fixed, p.modelFixedComplexity],
  ] as const;
  for (const [serving, levels] of phases) {
    for (const l of levels) {
      rows.push([
        serving,
        "Health/Check (no-op)",
        String(l.concurrency),
        formatNumber(l.noop.callsPerSecond, 0),
        formatMicros(l.noop.p50Us),
        formatMicros(l.noop.p99Us),
        "",
        "",
      ]);
      rows.push([
        serving,
        "PredictAgents",
        String(l.concurrency),
        formatNumber(l.predict.callsPerSecond, 0),
        formatMicros(l.predict.p50Us),
        formatMicros(l.predict.p99Us),
        `${l.loopDelay.p99Ms.toFixed(2)} ms`,
        sources(l.sources),
      ]);
    }
  }
  out.push(table(["serving", "RPC", "conc", "calls/s", "p50", "p99", "loop delay p99", "answers by first recommendation's source"], rows));
  out.push(
    "",
    table(
      ["serving", "conc", "PredictAgents/no-op p50", "PredictAgents/no-op calls/s", "worst loop stall"],
      phases
        .flatMap(([serving, levels]) => levels.map((l) => [serving, l] as const))
        .map(([serving, l]) => [
          serving,
          String(l.concurrency),
          ratio(l.p50Ratio, 2),
          ratio(l.throughputRatio, 3),
          `${l.loopDelay.maxMs.toFixed(1)} ms`,
        ]),
    ),
  );
  out.push(
    `Requests carry the world's complexities (two decimals); the "${fixed}" row sends the same requests with one complexity, ` +
      `so the ranking cached per evidence snapshot, model version and complexity can be reused.`,
  );
  const gate = p.firstRetrainModels
    .map((x) => `${x.kind.toLowerCase()} ${x.status.toLowerCase()}${x.reason ? ` (${x.reason})` : ""}`)
    .join(", ");
  out.push(
    `Retrain on ${formatNumber(p.executions, 0)} executions: ${p.firstRetrainSeconds.toFixed(2)} s as the client saw it; ${gate || "no models"}`,
  );

  out.push(
    "",
    `PredictAgents idle, then while Retrain runs back to back (after ${formatNumber(p.executionsAtEnd - p.executions, 0)} more executions; ${formatNumber(p.executionsAtEnd, 0)} in all): ` +
      `${m.retrainRounds} × (${m.retrainWindowMs} ms idle, ${m.retrainWindowMs} ms during), medians`,
  );
  out.push(
    table(
      [
        "conc",
        "calls idle/during",
        "idle calls/s",
        "idle p50",
        "idle p99",
        "during calls/s",
        "during p50",
        "during p99",
        "p99 during/idle",
        "loop p99 idle → during",
        "loop max during",
        "retrains (median s)",
      ],
      p.duringRetrain.map((l) => [
        String(l.concurrency),
        `${l.idleRounds.reduce((a, r) => a + r.calls, 0)}/${l.duringRounds.reduce((a, r) => a + r.calls, 0)}`,
        formatNumber(l.idle.callsPerSecond, 0),
        formatMicros(l.idle.p50Us),
        formatMicros(l.idle.p99Us),
        formatNumber(l.during.callsPerSecond, 0),
        formatMicros(l.during.p50Us),
        formatMicros(l.during.p99Us),
        ratio(l.p99Ratio, 2),
        `${l.idleLoop.p99Ms.toFixed(2)} → ${l.duringLoop.p99Ms.toFixed(2)} ms`,
        `${l.duringLoop.maxMs.toFixed(1)} ms`,
        `${l.retrainSeconds.length} (${median(l.retrainSeconds).toFixed(2)})`,
      ]),
    ),
  );
  out.push(
    `During: ${p.duringRetrain.map((l) => `c=${l.concurrency} answers ${sources(l.sources)}`).join("; ")}. RSS ${formatMiB(p.rssBeforeBytes)} → ${formatMiB(p.rssAfterBytes)}.`,
  );
  return out.join("\n");
}
