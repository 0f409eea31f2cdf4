/** How a TtlCache ages its value and reports a refresh that failed. */
export interface TtlCacheOptions {
  /** A value younger than this is served as it is. */
  maxAgeMs: number;
  /**
   * A value older than `maxAgeMs` but younger than this is still served while a refresh runs
   * behind it; an older one is never served: the caller waits for a fresh read and gets its error.
   */
  maxStaleMs: number;
  /** Told of every background refresh that failed (the caller got the older value meanwhile). */
  onRefreshError(error: unknown): void;
}

/**
 * One value read from PostgreSQL at most every `maxAgeMs`: served from memory while younger, and
 * while one refresh runs behind an older one, so an aggregate over history never sits on the
 * prediction hot path. For figures where seconds of staleness do not matter (calibration,
 * observation statistics), never for what a request must see fresh. Staleness is bounded by
 * `maxStaleMs`: when refreshes keep failing, the value stops being served once that old.
 */
export class TtlCache<T> {
  #value: T | undefined;
  #loadedAt = 0;
  #loading: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly options: TtlCacheOptions,
  ) {
    if (options.maxStaleMs < options.maxAgeMs) throw new RangeError("maxStaleMs must be at least maxAgeMs");
  }

  /** The value, reading it when there is none yet or the one held is older than `maxStaleMs`. */
  async get(): Promise<T> {
    if (this.#value !== undefined) {
      const age = Date.now() - this.#loadedAt;
      if (age < this.options.maxAgeMs) return this.#value;
      if (age < this.options.maxStaleMs) {
        this.#refresh().catch((error: unknown) => this.options.onRefreshError(error));
        return this.#value;
      }
    }
    return this.#refresh();
  }

  #refresh(): Promise<T> {
    this.#loading ??= this.load()
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
}
