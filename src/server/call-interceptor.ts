import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import type { Logger } from "pino";
import { PRINCIPAL } from "./auth.js";
import { toClientError } from "../service/errors.js";

/** Counts calls in flight so graceful shutdown can wait for them to finish. */
export class InFlightCalls {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** Marks a call as started. */
  enter(): void {
    this.count++;
  }

  /** Marks a call as finished. */
  leave(): void {
    this.count--;
    if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  /** Calls in flight now. */
  get size(): number {
    return this.count;
  }

  /** Resolves when no call is in flight, or after `timeoutMs`; tells which. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** One finished call, as the call interceptor reports it to an observer (metrics). */
export interface FinishedCall {
  /** Fully qualified, e.g. "agentlearning.v1.LearningService/RecordExecution". */
  method: string;
  /** The connect Code name the client saw, e.g. "OK", "InvalidArgument". */
  code: string;
  /** From entering the server to the last response message (or the client going away). */
  seconds: number;
}

/** Told about every call's start and end, so figures come from the same place as the log line. */
export interface CallObserver {
  callStarted(method: string): void;
  callFinished(call: FinishedCall): void;
}

/**
 * The boundary every call crosses: logs one structured line per RPC (method, protocol, code,
 * duration; never payloads, which may carry secrets) and turns any non-Connect error into what a
 * client may see (UNAVAILABLE for a lost database, else INTERNAL), logging the original with
 * context first so nothing is swallowed.
 */
export function callInterceptor(log: Logger, inFlight: InFlightCalls, observer?: CallObserver): Interceptor {
  return (next) => async (req) => {
    const started = process.hrtime.bigint();
    const method = `${req.service.typeName}/${req.method.name}`;
    inFlight.enter();
    observer?.callStarted(method);
    let finished = false;
    const finish = (error: unknown) => {
      if (finished) return;
      finished = true;
      inFlight.leave();
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const clientError = error === undefined ? undefined : toClientError(error);
      const code = clientError ? Code[clientError.code] : "OK";
      // The token's NAME (set by the auth interceptor), never the token itself.
      const principal = req.contextValues.get(PRINCIPAL);
      const line = {
        method,
        ...(principal ? { principal } : {}),
        protocol: protocolOf(req.header.get("content-type")),
        code,
        durationMs: Math.round(durationMs * 1000) / 1000,
      };
      observer?.callFinished({ method, code, seconds: durationMs / 1000 });
      if (clientError && (clientError.code === Code.Internal || clientError.code === Code.Unknown)) {
        log.error({ ...line, err: error }, "rpc failed");
      } else if (clientError && clientError.code === Code.Unavailable) {
        log.warn({ ...line, reason: error instanceof ConnectError ? error.rawMessage : String(error) }, "rpc");
      } else {
        log.info(line, "rpc");
      }
      return clientError;
    };
    let response: UnaryResponse | StreamResponse;
    try {
      response = await next(req);
    } catch (error) {
      throw finish(error);
    }
    if (!response.stream) {
      finish(undefined);
      return response;
    }
    return { ...response, message: watchStream(response.message, finish) };
  };
}

async function* watchStream<T>(messages: AsyncIterable<T>, finish: (error: unknown) => ConnectError | undefined): AsyncIterable<T> {
  try {
    for await (const message of messages) yield message;
  } catch (error) {
    throw finish(error);
  } finally {
    // Reached also when the client goes away mid-stream (the generator is returned early).
    finish(undefined);
  }
}

/** Names the wire protocol of a call from its content type, for the log line. */
function protocolOf(contentType: string | null): string {
  if (contentType === null) return "connect";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}
