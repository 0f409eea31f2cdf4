import { EventEmitter } from "node:events";
import { Readable } from "node:stream";
import { randomUUID } from "node:crypto";
import { ConnectionError, type DriverClient, type DriverClientState } from "slonik";

// slonik 47's pool wakes a queued caller only when one of its connections is released or
// destroyed. Callers queued while the pool was full of connection attempts are stranded when
// every attempt fails (PostgreSQL down): no connection is left to be released, and they wait
// until PostgreSQL returns, past any deadline (slonik 49 rejects them; it needs Node 24). A
// failed attempt is therefore handed to the pool as this client instead of a rejection: its
// caller's first query fails with the connection error, which destroys it, and its destroy makes
// the pool serve the next queued caller with a new attempt. Queued callers thus fail in turn as
// fast as attempts fail, and are served by the first attempt that succeeds.

/** A driver client standing for a connection attempt that failed with `cause`. */
export function unreachableClient(cause: unknown): DriverClient {
  const events = new EventEmitter();
  const id = randomUUID();
  let state: DriverClientState = "IDLE";
  const failure = () => {
    const reason = cause instanceof Error ? cause : new Error(String(cause));
    return new ConnectionError(reason.message, { cause: reason });
  };
  const destroy = async () => {
    if (state === "DESTROYED") return;
    state = "DESTROYED";
    events.emit("destroy");
  };
  return {
    acquire: () => {
      state = "ACQUIRED";
      events.emit("acquire");
    },
    destroy,
    id: () => id,
    on: events.on.bind(events),
    off: events.off.bind(events),
    removeListener: events.removeListener.bind(events),
    query: async () => {
      throw failure();
    },
    // Never reused: released unused, it is destroyed, which serves the next queued caller.
    release: destroy,
    state: () => state,
    stream: () =>
      new Readable({
        objectMode: true,
        read() {
          this.destroy(failure());
        },
      }) as ReturnType<DriverClient["stream"]>,
  };
}
