import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { BenchClients } from "./service.js";
import { countError, type ErrorCounts, WrongAnswer } from "./soak-load.js";

/** What one StreamInsights subscriber received while it was held open. */
export interface SubscriberFigures {
  insights: number;
  heartbeats: number;
  /** Per insight received, ms from its updated_at (when analysis published it) to its arrival here. */
  deliveryMs: number[];
  /** The feed position it started after, and the furthest one it was told it had reached (decimal, as the API spells cursors). */
  startCursor: string;
  reachedCursor: string;
  /** Times the stream had to be opened again after a failure or an early end. */
  reopened: number;
  errors: ErrorCounts;
  errorCount: number;
  errorSamples: string[];
}

/** After a failure, how long the subscriber waits before resuming, as a well-behaved client would. */
const RESUME_AFTER_MS = 200;

/**
 * Holds one StreamInsights call open until `signal` aborts, counting what arrives. It starts
 * after feed position `startCursor`, so the feed events it must receive can be counted in the
 * database afterwards. A stream that fails or ends before the abort is a soak failure: it is
 * counted and resumed after the last cursor seen, as the API promises a reconnecting client loses
 * nothing, so one failure does not blind the subscriber for the rest of the run.
 */
export async function holdInsightStream(
  learning: BenchClients["learning"],
  startCursor: bigint,
  signal: AbortSignal,
): Promise<SubscriberFigures> {
  const figures: SubscriberFigures = {
    insights: 0,
    heartbeats: 0,
    deliveryMs: [],
    startCursor: startCursor.toString(),
    reachedCursor: "",
    reopened: 0,
    errors: {},
    errorCount: 0,
    errorSamples: [],
  };
  let furthest = startCursor;
  const reached = (cursor: string) => {
    if (/^\d+$/.test(cursor) && BigInt(cursor) > furthest) furthest = BigInt(cursor);
  };
  for (let opened = 0; !signal.aborted; opened++) {
    if (opened > 0) figures.reopened++;
    // An empty feed has no cursor to resume after: replaying it from the beginning is the same start.
    const request = furthest > 0n ? { afterCursor: furthest.toString() } : { fromBeginning: true };
    try {
      // No deadline (0): `signal` ends the call, and a client default meant for unary calls must not.
      for await (const message of learning.streamInsights(request, { signal, timeoutMs: 0 })) {
        if (message.event.case === "insight") {
          figures.insights++;
          // Same machine, same clock: the server's timestamp and ours are comparable.
          const published = message.event.value.updatedAt;
          if (published) figures.deliveryMs.push(Date.now() - timestampMs(published));
          reached(message.event.value.cursor);
        } else if (message.event.case === "heartbeat") {
          figures.heartbeats++;
          reached(message.event.value.cursor);
        }
      }
      if (signal.aborted) break;
      throw new WrongAnswer("the server ended the stream before the soak did");
    } catch (error) {
      // Our own abort at the deadline ends the stream with Canceled: the intended end, not a failure.
      if (signal.aborted) break;
      figures.errorCount++;
      countError(figures.errors, figures.errorSamples, error);
      await new Promise((resolve) => setTimeout(resolve, RESUME_AFTER_MS));
    }
  }
  return { ...figures, reachedCursor: furthest.toString() };
}
