import { setTimeout as sleep } from "node:timers/promises";
import { isMessage } from "@bufbuild/protobuf";
import { Code, type Interceptor } from "@connectrpc/connect";
import { type ImportDataRequest, ImportDataRequestSchema, ImportDataResponseSchema } from "../../gen/agentlearning/v1/admin_service_pb.js";
import {
  type RecordExecutionsRequest,
  RecordExecutionsRequestSchema,
  RecordExecutionsResponseSchema,
} from "../../gen/agentlearning/v1/learning_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { MAX_EXECUTIONS_PER_MESSAGE } from "../service/bulk-ingest.js";
import { errorWithInfo } from "../service/errors.js";
import type { InFlightCalls } from "./call-interceptor.js";

// The limits a replica sets on what callers may ask of it, each answered with a status a client
// understands (RESOURCE_EXHAUSTED) instead of memory growth, a stalled pool or a crash. Message
// size (readMaxBytes), deadlines (connect's context.signal) and streams per HTTP/2 connection
// (maxConcurrentStreams) are enforced by connect-node and the listener; the rest are ours.

/**
 * Rejects calls beyond `max` in flight on this replica with RESOURCE_EXHAUSTED, before the
 * handler runs, so an overload sheds work at the door instead of queueing it on the database
 * pool until every call times out. It must run inside the call interceptor, whose InFlightCalls
 * already counts this call (hence `>`), so rejections are logged and counted like any answer.
 * Health checks are exempt: a busy replica is still alive, and probes must be able to say so.
 */
export function inFlightLimit(inFlight: InFlightCalls, max: number): Interceptor {
  return (next) => async (req) => {
    if (inFlight.size > max && req.service.typeName !== Health.typeName) {
      throw errorWithInfo(
        Code.ResourceExhausted,
        `the server has ${max} calls in flight, its limit (MAX_IN_FLIGHT_CALLS); retry with backoff`,
        "TOO_MANY_CALLS",
        { max_in_flight_calls: String(max) },
      );
    }
    return next(req);
  };
}

/** Client-streaming requests whose items (executions) the stream-length limit counts. */
const BULK_REQUESTS = new Set<string>([RecordExecutionsRequestSchema.typeName, ImportDataRequestSchema.typeName]);

/**
 * Caps the executions one RecordExecutions or ImportData call may carry at `max`. The request
 * stream is cut at exactly `max` items: the handler processes and commits those and answers as
 * usual, then the caller gets RESOURCE_EXHAUSTED saying so (with the counts), rather than losing
 * the uncommitted part of a batch to an error thrown mid-stream. Nothing after item `max` is
 * read, so the client knows exactly where to resume; re-sending is safe as ingestion is
 * idempotent. The stream is consumed only as fast as batches commit, so its rate is bounded by
 * the database (HTTP/2 flow control holds the sender back).
 */
export function streamLengthLimit(max: number): Interceptor {
  return (next) => async (req) => {
    if (!req.stream || !BULK_REQUESTS.has(req.method.input.typeName)) return next(req);
    const cap = { exceeded: false };
    const response = await next({ ...req, message: capExecutions(req.message, max, cap) });
    if (!cap.exceeded) return response;
    // The handler has finished (a client-streaming answer is one message, produced once the
    // request stream ended); read its counts for the error that replaces it.
    let result: ReturnType<typeof bulkResultOf>;
    if (response.stream) for await (const message of response.message) result ??= bulkResultOf(message);
    else result = bulkResultOf(response.message);
    throw errorWithInfo(
      Code.ResourceExhausted,
      `a call may carry at most ${max} executions (MAX_STREAM_EXECUTIONS): the first ${max} were processed and ` +
        `those stored stay committed${result ? ` (${result.stored} stored, ${result.duplicates} duplicates, ${result.rejected} rejected)` : ""}; ` +
        "nothing after them was read. Send the rest in a new call (re-sending is safe: ingestion is idempotent).",
      "STREAM_TOO_LONG",
      {
        max_executions: String(max),
        processed_count: String(max),
        ...(result
          ? { stored_count: String(result.stored), duplicate_count: String(result.duplicates), rejected_count: String(result.rejected) }
          : {}),
      },
    );
  };
}

/**
 * Paces each RecordExecutions or ImportData call to `perSecond` executions (a burst of one
 * second's worth, then that rate): the handler reads the next message only when the call's budget
 * allows, so HTTP/2 flow control slows the sender rather than an error failing a valid upload.
 * One stream then cannot take the database from the others however fast its client writes; a
 * call paced past its deadline ends with DEADLINE_EXCEEDED, its committed batches kept.
 */
export function streamRateLimit(perSecond: number): Interceptor {
  return (next) => async (req) => {
    if (!req.stream || !BULK_REQUESTS.has(req.method.input.typeName)) return next(req);
    return next({ ...req, message: paceExecutions(req.message, perSecond, req.signal) });
  };
}

/** Passes messages on no faster than `perSecond` executions, waiting (abortably) when over budget. */
async function* paceExecutions<M>(messages: AsyncIterable<M>, perSecond: number, signal: AbortSignal): AsyncGenerator<M> {
  let budget = perSecond;
  let refilledAt = performance.now();
  for await (const message of messages) {
    const count = isBulkRequest(message) ? message.executions.length : 0;
    const now = performance.now();
    budget = Math.min(perSecond, budget + ((now - refilledAt) / 1000) * perSecond);
    refilledAt = now;
    budget -= count;
    // Aborted (deadline, shutdown): end with the signal's own reason, which the call reports.
    if (budget < 0) await sleep((-budget / perSecond) * 1000, undefined, { signal }).catch(() => signal.throwIfAborted());
    yield message;
  }
}

/** Passes messages on until `max` executions have gone by, cutting the message that crosses it. */
async function* capExecutions<M>(messages: AsyncIterable<M>, max: number, cap: { exceeded: boolean }): AsyncGenerator<M> {
  let seen = 0;
  for await (const message of messages) {
    if (!isBulkRequest(message)) {
      yield message;
      continue;
    }
    const room = max - seen;
    // A message over the per-message maximum goes through whole: the handler rejects it as
    // INVALID_ARGUMENT, which is the truer answer than a cut.
    if (message.executions.length <= room || message.executions.length > MAX_EXECUTIONS_PER_MESSAGE) {
      seen += message.executions.length;
      yield message;
      continue;
    }
    cap.exceeded = true;
    if (room > 0) yield { ...message, executions: message.executions.slice(0, room) };
    // Leaving the loop closes the request stream: the rest is never read.
    return;
  }
}

/** Whether a request message is a chunk of a bulk upload, whose executions the limits count. */
function isBulkRequest(message: unknown): message is RecordExecutionsRequest | ImportDataRequest {
  return isMessage(message, RecordExecutionsRequestSchema) || isMessage(message, ImportDataRequestSchema);
}

/** The counts of a bulk answer, for the error that replaces it. */
function bulkResultOf(message: unknown): { stored: number; duplicates: number; rejected: number } | undefined {
  const result =
    isMessage(message, RecordExecutionsResponseSchema) || isMessage(message, ImportDataResponseSchema) ? message.result : undefined;
  return result && { stored: result.storedCount, duplicates: result.duplicateIds.length, rejected: result.rejected.length };
}
