import type { DatabasePool } from "slonik";
import { SETTINGS_CHANNEL } from "../store/settings.js";
import type { NotificationListener } from "../store/listener.js";
import { type LearningSettings, readSettings } from "../store/status.js";

/**
 * The learning settings as the hot path reads them: from memory, refreshed from PostgreSQL when a
 * replica announces a change (NOTIFY) and at least every `maxAgeMs` in case an announcement was
 * missed. PostgreSQL stays the source of truth.
 */
export class SettingsCache {
  #value: LearningSettings | undefined;
  #loadedAt = 0;
  #loading: Promise<LearningSettings> | undefined;

  constructor(
    private readonly pool: DatabasePool,
    listener: NotificationListener,
    private readonly maxAgeMs: number,
  ) {
    listener.on("notification", (channel: string) => {
      if (channel === SETTINGS_CHANNEL) this.#loadedAt = 0;
    });
    listener.on("reconnected", () => {
      this.#loadedAt = 0;
    });
  }

  /** The current settings. */
  async get(): Promise<LearningSettings> {
    if (this.#value && Date.now() - this.#loadedAt < this.maxAgeMs) return this.#value;
    this.#loading ??= readSettings(this.pool)
      .then((value) => {
        this.#value = value;
        this.#loadedAt = Date.now();
        return value;
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }

  /** Takes a value this replica just wrote. */
  set(value: LearningSettings): void {
    this.#value = value;
    this.#loadedAt = Date.now();
  }
}
