import type { DriverClient } from "slonik";

// slonik 47's driver client cannot finish destroying a connection whose `error` event arrives
// while a query runs on it, which is what every busy connection sees when PostgreSQL crashes or
// the network drops: pg emits the error at once and rejects the query a tick later, the destroy
// the error started awaits that query and rejects with it, and the client stays PENDING_DESTROY
// for good. The pool still counts it, so once every slot holds one, each later call waits for a
// connection forever (no acquire timeout) and the service never recovers, nor stops. slonik 49
// fixes this (it catches the query's error in destroy) but needs Node 24; until then this
// wrapper settles such a destroy for the pool (test/integration/pool-lost-connection.test.ts).

type DestroyListener = () => void;
type ListenerMethod = (event: string | symbol, listener: DestroyListener) => unknown;

/** A listener method of the client that also notes what it does to `destroy` listeners. */
function tracking<M>(method: M, note: (listener: DestroyListener) => void): M {
  const inner = method as unknown as ListenerMethod;
  const outer: ListenerMethod = (event, listener) => {
    if (event === "destroy") note(listener);
    return inner(event, listener);
  };
  // The event emitter's generic signatures cannot be restated for a wrapper: same shape, cast once.
  return outer as unknown as M;
}

/**
 * The client, except that a destroy that fails reports it destroyed to the pool (its `destroy`
 * listeners run, its state reads DESTROYED), so the pool drops it and can open a fresh one.
 * Everything but `destroy`, `state` and the tracking of `destroy` listeners passes through.
 */
export function withSettledDestroy(client: DriverClient): DriverClient {
  const destroyListeners = new Set<DestroyListener>();
  let abandoned = false;
  const wrapped: DriverClient = {
    ...client,
    state: () => (abandoned ? "DESTROYED" : client.state()),
    destroy: async () => {
      if (abandoned) return;
      try {
        await client.destroy();
      } catch {
        // The rejection is the failed query's own error, which its caller has already received;
        // the connection behind it is dead either way. What must not be lost is the slot.
        abandoned = true;
        for (const listener of [...destroyListeners]) listener();
      }
    },
    on: tracking(client.on.bind(client), (listener) => destroyListeners.add(listener)),
    off: tracking(client.off.bind(client), (listener) => destroyListeners.delete(listener)),
    removeListener: tracking(client.removeListener.bind(client), (listener) => destroyListeners.delete(listener)),
  };
  // Whoever started the destroy (the driver itself, on this very error), its outcome is settled
  // here too, so a stuck destroy frees its slot even if no caller retries the destroy.
  client.on("error", () => void wrapped.destroy());
  return wrapped;
}
