import { monitorEventLoopDelay } from "node:perf_hooks";
import { median } from "./stats.js";

/** Timer period of the delay monitor; it records whole periods, so this is subtracted from its figures. */
const RESOLUTION_MS = 1;

/** How late the event loop ran its timers while a load was on, in milliseconds. */
export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

/**
 * Watches the event loop of this process (the server's: it runs in-process) while `work` runs.
 * Node's histogram records the interval between timer ticks, resolution included; what is
 * reported is that interval minus the resolution: the lateness the loop imposed. A histogram is
 * never re-enabled: its first tick after a pause would record the whole pause as one delay.
 */
export async function watchEventLoop<T>(work: () => Promise<T>): Promise<{ result: T; delay: LoopDelay }> {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  try {
    const result = await work();
    histogram.disable();
    const late = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    return { result, delay: { p99Ms: late(histogram.percentile(99)), maxMs: late(histogram.max) } };
  } finally {
    histogram.disable();
  }
}

/** Several rounds' delays as one: the median p99 and the worst stall seen. */
export function combineDelays(delays: readonly LoopDelay[]): LoopDelay {
  return { p99Ms: median(delays.map((d) => d.p99Ms)), maxMs: Math.max(...delays.map((d) => d.maxMs)) };
}
