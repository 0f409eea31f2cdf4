/** The median of a list of figures: what a noisy shared machine reports most fairly across rounds. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The q-quantile (0..1) of an ascending-sorted array, nearest-rank, so p99 is a latency actually seen. */
export function quantileSorted(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Figures of one measured run of calls. */
export interface RunFigures {
  calls: number;
  seconds: number;
  callsPerSecond: number;
  /** Latencies in microseconds. */
  p50Us: number;
  p99Us: number;
}

/** Medians over rounds, figure by figure. */
export function medianFigures(rounds: readonly RunFigures[]): RunFigures {
  return {
    calls: median(rounds.map((r) => r.calls)),
    seconds: median(rounds.map((r) => r.seconds)),
    callsPerSecond: median(rounds.map((r) => r.callsPerSecond)),
    p50Us: median(rounds.map((r) => r.p50Us)),
    p99Us: median(rounds.map((r) => r.p99Us)),
  };
}

/** 12345.6 → "12,346"; small figures keep one decimal. */
export function formatNumber(value: number, decimals = value < 100 ? 1 : 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Microseconds as a readable duration: "850 µs", "12.3 ms". */
export function formatMicros(us: number): string {
  if (!Number.isFinite(us)) return "n/a";
  return us < 1_000 ? `${Math.round(us)} µs` : `${(us / 1_000).toFixed(us < 10_000 ? 2 : 1)} ms`;
}

/** Bytes as MiB with one decimal. */
export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
