import { performance } from "node:perf_hooks";
import { quantileSorted, type RunFigures } from "./stats.js";

/** A closed-loop load: `concurrency` callers, each issuing its next call as soon as the last returns. */
export interface ClosedLoop {
  concurrency: number;
  /** How long new calls are started; calls in flight at the end are awaited and counted. */
  durationMs: number;
  /** One call; `n` is unique across the run's callers (0, 1, 2, ...). */
  call: (n: number) => Promise<void>;
}

/**
 * Runs a closed-loop load and measures it: throughput is completed calls over wall time until the
 * last call returned, latencies are per call. The first failing call ends the run and is thrown:
 * the bench measures a working service or nothing.
 */
export async function runClosedLoop(load: ClosedLoop): Promise<RunFigures> {
  const latencies: number[] = [];
  let next = 0;
  let failure: unknown;
  const started = performance.now();
  const deadline = started + load.durationMs;
  const caller = async () => {
    while (failure === undefined && performance.now() < deadline) {
      const n = next++;
      const t0 = performance.now();
      try {
        await load.call(n);
      } catch (error) {
        failure ??= error;
        return;
      }
      latencies.push((performance.now() - t0) * 1_000);
    }
  };
  await Promise.all(Array.from({ length: load.concurrency }, caller));
  const seconds = (performance.now() - started) / 1_000;
  if (failure !== undefined) throw failure;
  const sorted = Float64Array.from(latencies).sort();
  return {
    calls: latencies.length,
    seconds,
    callsPerSecond: latencies.length / seconds,
    p50Us: quantileSorted(sorted, 0.5),
    p99Us: quantileSorted(sorted, 0.99),
  };
}
