import { Code, ConnectError } from "@connectrpc/connect";
import { performance } from "node:perf_hooks";
import { quantileSorted, type RunFigures } from "./stats.js";

/** Failed calls by gRPC code name ("Unavailable", ...), or "bench check" for a wrong answer. */
export type ErrorCounts = Record<string, number>;

/** One RPC kind's figures over a soak: the successful calls' figures, and every failure counted. */
export interface KindFigures extends RunFigures {
  callers: number;
  errors: ErrorCounts;
  errorCount: number;
  /** The first few failures, verbatim, for the report. */
  errorSamples: string[];
}

/** A load that keeps going through failures, because a soak must see all of them, not the first. */
export interface SoakLoop {
  callers: number;
  /** Each caller starts calls until this moment (performance.now() time); calls in flight finish. */
  deadline: number;
  /** One call; `n` is unique across the loop's callers. */
  call: (n: number) => Promise<void>;
  /** A caller's pause after each call; 0 (a closed loop) when absent. */
  pauseMs?: number;
}

const SAMPLES_KEPT = 5;

/** An answer the service gave that the bench must not accept (a duplicate, a short count). */
export class WrongAnswer extends Error {
  override readonly name = "WrongAnswer";
}

/** The label a failure is counted under: its gRPC code, so the report says which kind of failure. */
export function errorLabel(error: unknown): string {
  if (error instanceof ConnectError) return Code[error.code] ?? `code ${error.code}`;
  return error instanceof WrongAnswer ? "bench check" : "client error";
}

/** Counts one failure under its label, keeping the first few distinct ones verbatim. */
export function countError(errors: ErrorCounts, samples: string[], error: unknown): void {
  const label = errorLabel(error);
  errors[label] = (errors[label] ?? 0) + 1;
  const sample = `${label}: ${error instanceof Error ? error.message : String(error)}`;
  if (samples.length < SAMPLES_KEPT && !samples.includes(sample)) samples.push(sample);
}

/** A caller's pause after a failed call: a server that is down is not hammered in a hot loop. */
const PAUSE_AFTER_ERROR_MS = 50;

/**
 * Runs `callers` loops until the deadline, each issuing its next call when the last returned
 * (after `pauseMs`), and measures them: throughput is successful calls over the wall time until
 * the last call returned, latencies are those of successful calls, failures are counted by code.
 */
export async function runSoakLoop(loop: SoakLoop): Promise<KindFigures> {
  const latencies: number[] = [];
  const errors: ErrorCounts = {};
  const errorSamples: string[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const caller = async () => {
    while (performance.now() < loop.deadline) {
      const n = next++;
      const t0 = performance.now();
      let pauseMs = loop.pauseMs ?? 0;
      try {
        await loop.call(n);
        latencies.push((performance.now() - t0) * 1_000);
      } catch (error) {
        failed++;
        countError(errors, errorSamples, error);
        pauseMs = Math.max(pauseMs, PAUSE_AFTER_ERROR_MS);
      }
      const pause = Math.min(pauseMs, loop.deadline - performance.now());
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };
  await Promise.all(Array.from({ length: loop.callers }, caller));
  const seconds = (performance.now() - started) / 1_000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    callers: loop.callers,
    calls: latencies.length,
    seconds,
    callsPerSecond: latencies.length / seconds,
    p50Us: quantileSorted(sorted, 0.5),
    p99Us: quantileSorted(sorted, 0.99),
    errors,
    errorCount: failed,
    errorSamples,
  };
}
