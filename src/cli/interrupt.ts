/** An abort signal tied to Ctrl-C, for commands that run until the user stops them. */
export interface Interrupt {
  /** Aborted on the first SIGINT. */
  signal: AbortSignal;
  /** Stops listening for SIGINT; safe to call twice. */
  dispose(): void;
}

/**
 * Turns the first Ctrl-C into an abort signal, so `dashboard` and `insights --follow` can cancel
 * their RPC, say where they stopped and exit 0, instead of being killed mid-line. A second Ctrl-C
 * finds no listener and ends the process the default way, for a user who cannot wait.
 */
export function interruptOnSigint(): Interrupt {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onSigint) };
}

/** Waits `ms`, or until the signal aborts, whichever comes first; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
