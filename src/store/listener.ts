import { EventEmitter } from "node:events";
import pg from "pg";
import type { Logger } from "pino";

/**
 * One dedicated PostgreSQL session LISTENing on the service's channels, shared by everything in
 * the process that waits for news from other replicas (insights, model activations, settings).
 * A pooled connection cannot hold a LISTEN, and slonik has no notification API, hence plain `pg`.
 * It reconnects by itself; after a reconnect it emits "reconnected", since notifications sent
 * meanwhile are lost and listeners must re-read what they track from the tables.
 */
export class NotificationListener extends EventEmitter {
  #client: pg.Client | undefined;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly channels: readonly string[],
    private readonly log: Logger,
  ) {
    super();
    // Every open stream subscribes; hundreds are normal.
    this.setMaxListeners(0);
  }

  /** Connects and listens; resolves after the first successful LISTEN, or keeps retrying in the background. */
  async start(): Promise<void> {
    await this.#connect(false).catch((error) => {
      this.log.warn({ err: error }, "notification listener could not connect; retrying");
      this.#scheduleRetry(1000);
    });
  }

  /** Closes the session for good. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(reconnecting: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "agent-learning-listen" });
    client.on("notification", (message) => this.emit("notification", message.channel, message.payload ?? ""));
    client.on("error", (error) => {
      this.log.warn({ err: error }, "notification listener lost its connection");
      void client.end().catch(() => {});
    });
    client.on("end", () => {
      if (this.#client === client) this.#client = undefined;
      if (!this.#stopped) this.#scheduleRetry(500);
    });
    await client.connect();
    for (const channel of this.channels) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    if (this.#stopped) {
      await client.end();
      return;
    }
    this.#client = client;
    if (reconnecting) {
      this.log.info("notification listener reconnected");
      this.emit("reconnected");
    }
  }

  #scheduleRetry(delayMs: number): void {
    if (this.#stopped || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect(true).catch(() => this.#scheduleRetry(Math.min(delayMs * 2, 5000)));
    }, delayMs);
    this.#retryTimer.unref();
  }
}
