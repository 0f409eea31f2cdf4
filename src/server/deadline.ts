import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { InFlightCalls } from "./call-interceptor.js";

/**
 * Answers DEADLINE_EXCEEDED the moment a call's deadline passes. connect-node only aborts the
 * handler's `context.signal` then; a unary or client-streaming handler that is awaiting the
 * database answers whenever that work ends, with its own status (measured: Analyze with a 1 ms
 * grpc-timeout answered OK after 15 ms). Clients that enforce their deadline locally do not
 * care, but Connect/HTTP clients that only send the header do, and so do the log line and the
 * metrics, which must show what the client saw.
 *
 * The abandoned handler runs on until it next checks the signal (the bulk path does between
 * batches, exports between rows) or its statement ends (each is bounded by the pool's
 * statement_timeout); it keeps counting as in flight until then, so the in-flight cap and
 * graceful shutdown still see the database work it holds. Only a deadline cuts a call short:
 * on shutdown, calls in flight are left to finish, and a client that went away needs no answer.
 * Server streams need none of this: their answer ends when the handler's generator sees the
 * signal. Must run inside the call interceptor, which logs and counts the answer.
 */
export function deadlineAnswer(inFlight: InFlightCalls, log: Logger): Interceptor {
  return (next) => (req) => {
    const pending = next(req);
    if (req.method.methodKind === "server_streaming" || req.method.methodKind === "bidi_streaming") return pending;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const reason: unknown = req.signal.reason;
        if (!(reason instanceof ConnectError) || reason.code !== Code.DeadlineExceeded) return;
        inFlight.enter();
        pending
          .catch((error: unknown) => {
            // Stopping at the signal, or the client's stream ending under it, is the expected end.
            const expected =
              error === reason || (error instanceof ConnectError && (error.code === Code.DeadlineExceeded || error.code === Code.Canceled));
            if (!expected) log.warn({ method: `${req.service.typeName}/${req.method.name}`, err: error }, "rpc failed after its deadline");
          })
          .finally(() => inFlight.leave());
        reject(reason);
      };
      if (req.signal.aborted) onAbort();
      else req.signal.addEventListener("abort", onAbort, { once: true });
      pending.then(resolve, reject).finally(() => req.signal.removeEventListener("abort", onAbort));
    });
  };
}
