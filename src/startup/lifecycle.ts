import type { Logger } from "pino";

/** One started part of the service, with the way to stop it. */
interface StartedPart {
  name: string;
  stop(): Promise<void> | void;
}

/**
 * The service's parts, started in order and stopped in reverse: each part may rely on every part
 * started before it for as long as it runs. A part that fails to start stops those already
 * started (the caller's `stopAll` in its catch); a part that fails to stop is logged, and the
 * ones started before it still stop.
 */
export class Lifecycle {
  #started: StartedPart[] = [];

  constructor(private readonly log: Logger) {}

  /** Starts a named part and registers how to stop it; returns what `start` made. */
  async start<T>(name: string, start: () => Promise<T> | T, stop: (part: T) => Promise<void> | void): Promise<T> {
    const part = await start();
    this.#started.push({ name, stop: () => stop(part) });
    return part;
  }

  /** Stops every started part, the last started first. */
  async stopAll(): Promise<void> {
    const parts = this.#started.reverse();
    this.#started = [];
    for (const part of parts) {
      try {
        await part.stop();
      } catch (error) {
        this.log.error({ err: error, part: part.name }, "cleanup failed");
      }
    }
  }
}
