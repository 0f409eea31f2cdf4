import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import type { NotificationListener } from "../store/listener.js";
import { SETTINGS_CHANNEL } from "../store/settings.js";
import { type LearningSettings, readSettings } from "../store/status.js";
import { RefreshingCache } from "./refreshing-cache.js";

/**
 * How the settings age: re-read in the background at least every second in case an announcement
 * was missed, and never served more than 10 s after the read that produced them (while PostgreSQL
 * cannot be read, callers then wait for it and fail): a mode is a policy, so a replica must not
 * keep applying one it can no longer confirm.
 */
export const SETTINGS_REFRESH_MS = 1_000;
export const SETTINGS_MAX_STALE_MS = 10_000;

/** The one key of the settings row. */
const ROW = "settings";

/**
 * The learning settings as the hot path reads them: from memory, re-read in the background when
 * a replica announces a change (NOTIFY on SETTINGS_CHANNEL, sent by store/settings.ts), after the
 * listener reconnects (announcements may have been lost), and every SETTINGS_REFRESH_MS.
 * Callers never wait once a first value is held, unless it is SETTINGS_MAX_STALE_MS old.
 * PostgreSQL stays the source of truth.
 */
export class SettingsCache {
  readonly #cache: RefreshingCache<typeof ROW, LearningSettings>;

  constructor(
    pool: DatabasePool,
    listener: NotificationListener,
    log: Logger,
    ages: { refreshAfterMs: number; maxStaleMs: number } = { refreshAfterMs: SETTINGS_REFRESH_MS, maxStaleMs: SETTINGS_MAX_STALE_MS },
  ) {
    this.#cache = new RefreshingCache({
      load: () => readSettings(pool),
      ...ages,
      onRefreshError: (error) => log.warn({ err: error }, "re-reading the learning settings failed; serving the previous ones"),
    });
    listener.on("notification", (channel: string) => {
      if (channel === SETTINGS_CHANNEL) this.#cache.invalidate(ROW);
    });
    listener.on("reconnected", () => this.#cache.invalidate(ROW));
  }

  /** The current settings. */
  get(): Promise<LearningSettings> {
    return this.#cache.get(ROW);
  }

  /** Takes a value this replica just wrote (its own announcement re-reads it once more). */
  set(value: LearningSettings): void {
    this.#cache.set(ROW, value);
  }
}
