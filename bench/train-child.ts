// Child-process entry of the `train` section: builds `rows` training examples of the bench world,
// then times one `trainModels` (both models, ONNX export included) and reports on stdout, as one
// JSON line, the time, the trees and the process's memory. A process per size gives honest
// peaks: maxRSS is this process's own high-water mark, untouched by earlier sizes or the server.
// Usage: node --expose-gc dist/bench/train-child.js <rows> <seed>
import { performance } from "node:perf_hooks";
import { trainModels } from "../src/ml/train-models.js";
import { worldTrainingExamples } from "./training-examples.js";

/** What the child reports (bytes and milliseconds). */
export interface TrainChildReport {
  rows: number;
  buildMs: number;
  trainMs: number;
  /** RSS once the examples are built and garbage collected: the baseline training grows from. */
  rssBeforeBytes: number;
  heapUsedBeforeBytes: number;
  /** Right after training, before any collection: what the run left live or as garbage. */
  heapUsedAfterBytes: number;
  arrayBuffersAfterBytes: number;
  /** process.resourceUsage().maxRSS: the process's peak resident set. */
  maxRssBytes: number;
  models: { kind: string; trees: number; onnxBytes: number; accepted: boolean; metrics: Record<string, number> }[];
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

function main(): void {
  const rows = Number(process.argv[2]);
  const seed = Number(process.argv[3] ?? 1);
  if (!Number.isInteger(rows) || rows <= 0) throw new Error(`usage: train-child <rows> <seed>, got ${process.argv.slice(2).join(" ")}`);
  const t0 = performance.now();
  const examples = worldTrainingExamples(seed, rows);
  const buildMs = performance.now() - t0;
  collect();
  const before = process.memoryUsage();
  // Progress on stderr: when the parent stops a run that overstays, it knows how far it got.
  process.stderr.write(`built ${rows} examples in ${Math.round(buildMs)} ms; training\n`);
  const t1 = performance.now();
  const models = trainModels(examples, {}, "bench");
  const trainMs = performance.now() - t1;
  const after = process.memoryUsage();
  const report: TrainChildReport = {
    rows,
    buildMs,
    trainMs,
    rssBeforeBytes: before.rss,
    heapUsedBeforeBytes: before.heapUsed,
    heapUsedAfterBytes: after.heapUsed,
    arrayBuffersAfterBytes: after.arrayBuffers,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    models: models.map((m) => ({
      kind: m.kind,
      trees: m.ensemble.trees.length,
      onnxBytes: m.onnx.length,
      accepted: m.rejection === undefined,
      metrics: m.metrics,
    })),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main();
