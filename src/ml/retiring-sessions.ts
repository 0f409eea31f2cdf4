import type { OnnxModel } from "./onnx-session.js";

/** How long a replaced session is kept for runs that started on it. */
const RETIRE_AFTER_MS = 30_000;

/**
 * Sessions that stopped serving but may still be running a call that started on them: each is
 * released once those calls have had time to finish. Shutdown forgets the ones still waiting.
 */
export class RetiringSessions {
  readonly #timers = new Set<NodeJS.Timeout>();

  /** Releases `session` after the grace period. */
  retire(session: OnnxModel): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void session.release();
    }, RETIRE_AFTER_MS);
    timer.unref();
    this.#timers.add(timer);
  }

  /** Cancels every pending release (shutdown). */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
