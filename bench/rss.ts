import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { median } from "./stats.js";

/** One reading of a process's resident set size. */
export interface RssSample {
  /** Milliseconds since sampling started. */
  atMs: number;
  bytes: number;
}

/** What a series of readings says: where it started and ended, its peak, and its shape by thirds. */
export interface RssSummary {
  samples: number;
  startBytes: number;
  endBytes: number;
  maxBytes: number;
  /** Median of the samples in the first, middle and last third of the run. */
  thirdsMedianBytes: [number, number, number];
  /** Last third's median minus the first third's: near zero for a plateau, large for steady growth. */
  growthBytes: number;
}

/**
 * VmRSS of process `pid` from /proc/<pid>/status, in bytes; undefined once the process is gone.
 * Read from the kernel rather than asked of the process, so a stalled server is measured too.
 */
export async function readRss(pid: number): Promise<number | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}

/**
 * Reads the RSS of `pid` every `periodMs` (one reading at once) until `stop`, which returns the
 * readings in order. A reading slower than the period is never overlapped by the next.
 */
export function sampleRss(pid: number, periodMs: number): { stop(): Promise<RssSample[]> } {
  const samples: RssSample[] = [];
  const started = performance.now();
  let reading: Promise<void> = Promise.resolve();
  const take = () => {
    reading = reading.then(async () => {
      const bytes = await readRss(pid);
      if (bytes !== undefined) samples.push({ atMs: Math.round(performance.now() - started), bytes });
    });
  };
  take();
  const timer = setInterval(take, periodMs);
  return {
    async stop() {
      clearInterval(timer);
      take();
      await reading;
      return samples;
    },
  };
}

/** The summary of a run's readings; NaN figures when there were none. */
export function summarizeRss(samples: readonly RssSample[]): RssSummary {
  const bytes = samples.map((s) => s.bytes);
  const third = (k: number) => bytes.slice(Math.floor((k * bytes.length) / 3), Math.floor(((k + 1) * bytes.length) / 3));
  const thirds: [number, number, number] = [median(third(0)), median(third(1)), median(third(2))];
  return {
    samples: bytes.length,
    startBytes: bytes[0] ?? Number.NaN,
    endBytes: bytes[bytes.length - 1] ?? Number.NaN,
    maxBytes: bytes.length > 0 ? Math.max(...bytes) : Number.NaN,
    thirdsMedianBytes: thirds,
    growthBytes: thirds[2] - thirds[0],
  };
}
