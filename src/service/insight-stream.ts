import { create } from "@bufbuild/protobuf";
import type { DatabasePool } from "slonik";
import { type StreamInsightsResponse, StreamInsightsResponseSchema } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { INSIGHTS_CHANNEL, type InsightFilter, latestInsightSeq, readInsightEvents } from "../store/insights.js";
import type { NotificationListener } from "../store/listener.js";
import { invalidArgument } from "./errors.js";
import { insightToProto } from "./insight-mapping.js";

/** Feed versions read per query while catching up. */
const PAGE = 500;

/**
 * The StreamInsights loop: replays the feed after the client's cursor, then waits for NOTIFYs
 * from any replica (or the heartbeat interval, which also re-reads in case a notification was
 * lost) and sends what is new. The cursor only advances over positions that are committed, and
 * writers commit in feed order (they hold the analysis lock), so a client resuming from any cursor
 * it received sees every later version exactly once.
 */
export async function* streamInsights(
  pool: DatabasePool,
  listener: NotificationListener,
  request: { filter: InsightFilter; after: bigint | undefined },
  heartbeatMs: number,
  signal: AbortSignal,
): AsyncGenerator<StreamInsightsResponse> {
  let wake: (() => void) | undefined;
  let pending = false;
  const poke = () => {
    pending = true;
    wake?.();
  };
  const onNotification = (channel: string) => {
    if (channel === INSIGHTS_CHANNEL) poke();
  };
  // Subscribe before the first read, so nothing committed in between is missed.
  listener.on("notification", onNotification);
  listener.on("reconnected", poke);
  signal.addEventListener("abort", poke);
  try {
    const latest = await latestInsightSeq(pool);
    if (request.after !== undefined && request.after > latest) {
      throw invalidArgument([
        { field: "after_cursor", description: `is ahead of the feed (latest cursor ${latest})`, reason: "INVALID_CURSOR" },
      ]);
    }
    let cursor = request.after ?? latest;
    for (;;) {
      signal.throwIfAborted();
      pending = false;
      // Everything up to `reached` is committed: read it all, then the cursor may stand there
      // even if the filter left nothing to send.
      const reached = await latestInsightSeq(pool);
      for (;;) {
        const rows = await readInsightEvents(pool, cursor, request.filter, PAGE);
        for (const row of rows) {
          if (row.seq > reached) break;
          cursor = row.seq;
          yield create(StreamInsightsResponseSchema, { event: { case: "insight", value: insightToProto(row) } });
        }
        if (rows.length < PAGE || (rows.at(-1)?.seq ?? 0n) > reached) break;
      }
      if (reached > cursor) cursor = reached;
      if (!pending) {
        const notified = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), heartbeatMs);
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        wake = undefined;
        signal.throwIfAborted();
        if (!notified) {
          yield create(StreamInsightsResponseSchema, { event: { case: "heartbeat", value: { cursor: cursor.toString() } } });
        }
      }
    }
  } finally {
    listener.off("notification", onNotification);
    listener.off("reconnected", poke);
    signal.removeEventListener("abort", poke);
  }
}
