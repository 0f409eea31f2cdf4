import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import { schemaVersion } from "../store/migrate.js";
import type { HealthRegistry } from "./health.js";

/**
 * Watches whether PostgreSQL answers with the expected schema, and drives the health status from
 * it: SERVING only while it does. The pool reconnects by itself, so when PostgreSQL returns the
 * next probe flips the replica back to SERVING with no restart.
 */
export class ReadinessMonitor {
  #ready = false;
  #version = 0;
  #timer: NodeJS.Timeout | undefined;
  #probing = false;

  constructor(
    private readonly pool: DatabasePool,
    private readonly expectedVersion: number,
    private readonly health: HealthRegistry,
    private readonly log: Logger,
  ) {}

  /** Whether the last probe found the database ready. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The schema version seen by the last successful probe. */
  get schemaVersion(): number {
    return this.#version;
  }

  /** Probes now, then every `intervalMs`. */
  async start(intervalMs: number): Promise<void> {
    await this.probe();
    this.#timer = setInterval(() => void this.probe(), intervalMs);
    this.#timer.unref();
  }

  /** Stops probing. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** One probe: updates readiness and health, logging transitions only. */
  async probe(): Promise<boolean> {
    if (this.#probing) return this.#ready;
    this.#probing = true;
    let ready = false;
    try {
      // A probe that does not answer in time counts as not ready (a wedged pool must not look healthy).
      this.#version = await withDeadline(schemaVersion(this.pool), PROBE_TIMEOUT_MS);
      ready = this.#version >= this.expectedVersion;
      if (!ready) this.#report(false, `schema version ${this.#version}, expected ${this.expectedVersion}`);
    } catch (error) {
      this.#report(false, error instanceof Error ? error.message : String(error));
    } finally {
      this.#probing = false;
    }
    if (ready) this.#report(true);
    return ready;
  }

  #report(ready: boolean, reason?: string): void {
    if (ready !== this.#ready) {
      if (ready) this.log.info("database ready: serving");
      else this.log.warn({ reason }, "database not ready: not serving");
    }
    this.#ready = ready;
    this.health.setServing(ready);
  }
}

/** How long a readiness probe may take before the database counts as not ready. */
const PROBE_TIMEOUT_MS = 3_000;

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the database did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
