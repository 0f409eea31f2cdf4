import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { DEFAULT_TRAIN_OPTIONS } from "../src/ml/gbdt/options.js";
import type { TrainChildReport } from "./train-child.js";

/** How the train section is run. */
export interface TrainPlan {
  sizes: readonly number[];
  /** A size still training after this long is stopped and reported as unfinished. */
  timeoutMs: number;
  seed: number;
}

/** One size: the child's report, or how far it got before the time limit. */
export interface TrainSize {
  rows: number;
  finished: boolean;
  /** Wall time of trainModels in the child (finished), or how long it had trained when stopped. */
  trainSeconds: number;
  buildSeconds: number | undefined;
  /** Kept trees per model (early stopping truncates to the best round; maxTrees caps). */
  trees: { success: number; duration: number } | undefined;
  accepted: { success: boolean; duration: boolean } | undefined;
  successAuc: number | undefined;
  onnxBytes: number | undefined;
  rssBeforeBytes: number | undefined;
  /** The child's peak RSS: its own maxRSS when it finished, else the highest VmHWM sampled. */
  peakRssBytes: number;
  heapUsedBeforeBytes: number | undefined;
  heapUsedAfterBytes: number | undefined;
  arrayBuffersAfterBytes: number | undefined;
  /** For an unfinished size: the time the growth from the previous sizes predicts. */
  extrapolatedSeconds: number | undefined;
}

/** What the section measured, and the trainer's cap on trees, for the report. */
export interface TrainFigures {
  sizes: TrainSize[];
  maxTrees: number;
  timeoutMs: number;
}

const SAMPLE_MS = 50;

/** The peak resident set of a live process, from /proc (Linux); undefined elsewhere or once it is gone. */
async function highWaterMark(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

interface ChildOutcome {
  report: TrainChildReport | undefined;
  sampledPeakBytes: number;
  /** When the child said it started training (ms since spawn), if it did. */
  trainingStartedMs: number | undefined;
  elapsedMs: number;
  stderr: string;
}

/**
 * Runs `train-child.js` for one size with --expose-gc, samples its peak RSS every 50 ms (so a run
 * stopped at the time limit still has one), and kills it once the limit passes.
 */
function runChild(rows: number, plan: TrainPlan): Promise<ChildOutcome> {
  const entry = new URL("./train-child.js", import.meta.url);
  const started = Date.now();
  const child = spawn(process.execPath, ["--expose-gc", entry.pathname, String(rows), String(plan.seed)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let trainingStartedMs: number | undefined;
  let sampledPeakBytes = 0;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    if (trainingStartedMs === undefined && stderr.includes("; training")) trainingStartedMs = Date.now() - started;
  });
  const pid = child.pid;
  const sampler = setInterval(() => {
    if (pid === undefined) return;
    void highWaterMark(pid).then((bytes) => {
      if (bytes !== undefined) sampledPeakBytes = Math.max(sampledPeakBytes, bytes);
    });
  }, SAMPLE_MS);
  const limit = setTimeout(() => child.kill("SIGKILL"), plan.timeoutMs);
  return new Promise((resolve, reject) => {
    child.once("error", (error) => {
      clearInterval(sampler);
      clearTimeout(limit);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearInterval(sampler);
      clearTimeout(limit);
      const elapsedMs = Date.now() - started;
      if (code === 0) {
        const line = stdout.trim().split("\n").at(-1) ?? "";
        resolve({ report: JSON.parse(line) as TrainChildReport, sampledPeakBytes, trainingStartedMs, elapsedMs, stderr });
      } else if (signal === "SIGKILL") {
        resolve({ report: undefined, sampledPeakBytes, trainingStartedMs, elapsedMs, stderr });
      } else {
        reject(new Error(`train child for ${rows} rows exited with ${code ?? signal}: ${stderr.trim()}`));
      }
    });
  });
}

/**
 * The time of a size that did not finish, from the growth between the two sizes before it:
 * t(n) ≈ t(last) · (n / last)^k, k = log(t(last) / t(prev)) / log(last / prev).
 */
function extrapolate(done: readonly TrainSize[], rows: number): number | undefined {
  const finished = done.filter((s) => s.finished);
  const last = finished.at(-1);
  const prev = finished.at(-2);
  if (!last || !prev) return undefined;
  const k = Math.log(last.trainSeconds / prev.trainSeconds) / Math.log(last.rows / prev.rows);
  return last.trainSeconds * (rows / last.rows) ** k;
}

/**
 * Trains both models on the bench world at each size, each in a fresh child process, one after
 * the other, and stops a size that overstays its time limit (the sizes after it are skipped).
 */
export async function measureTrain(plan: TrainPlan, progress: (message: string) => void): Promise<TrainFigures> {
  const sizes: TrainSize[] = [];
  for (const rows of plan.sizes) {
    progress(`train: ${rows.toLocaleString("en-US")} examples (child process, limit ${plan.timeoutMs / 1000} s)`);
    const outcome = await runChild(rows, plan);
    const r = outcome.report;
    if (r) {
      const success = r.models.find((m) => m.kind === "success");
      const duration = r.models.find((m) => m.kind === "duration");
      sizes.push({
        rows,
        finished: true,
        trainSeconds: r.trainMs / 1000,
        buildSeconds: r.buildMs / 1000,
        trees: { success: success?.trees ?? 0, duration: duration?.trees ?? 0 },
        accepted: { success: success?.accepted ?? false, duration: duration?.accepted ?? false },
        successAuc: success?.metrics.auc,
        onnxBytes: r.models.reduce((sum, m) => sum + m.onnxBytes, 0),
        rssBeforeBytes: r.rssBeforeBytes,
        peakRssBytes: Math.max(r.maxRssBytes, outcome.sampledPeakBytes),
        heapUsedBeforeBytes: r.heapUsedBeforeBytes,
        heapUsedAfterBytes: r.heapUsedAfterBytes,
        arrayBuffersAfterBytes: r.arrayBuffersAfterBytes,
        extrapolatedSeconds: undefined,
      });
    } else {
      const trainedMs = outcome.trainingStartedMs === undefined ? 0 : outcome.elapsedMs - outcome.trainingStartedMs;
      sizes.push({
        rows,
        finished: false,
        trainSeconds: trainedMs / 1000,
        buildSeconds: undefined,
        trees: undefined,
        accepted: undefined,
        successAuc: undefined,
        onnxBytes: undefined,
        rssBeforeBytes: undefined,
        peakRssBytes: outcome.sampledPeakBytes,
        heapUsedBeforeBytes: undefined,
        heapUsedAfterBytes: undefined,
        arrayBuffersAfterBytes: undefined,
        extrapolatedSeconds: extrapolate(sizes, rows),
      });
      progress(
        `train: ${rows} examples stopped after ${Math.round(outcome.elapsedMs / 1000)} s (${outcome.stderr.trim() || "no progress reported"})`,
      );
      break;
    }
  }
  return { sizes, maxTrees: DEFAULT_TRAIN_OPTIONS.maxTrees, timeoutMs: plan.timeoutMs };
}
