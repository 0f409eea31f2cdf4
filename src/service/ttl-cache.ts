/**
 * One value read from PostgreSQL at most every `maxAgeMs`: served from memory while younger, and
 * while one refresh runs behind an older one, so an aggregate over history never sits on the
 * prediction hot path. For figures where seconds of staleness do not matter (calibration,
 * observation statistics), never for what a request must see fresh.
 */
export class TtlCache<T> {
  #value: T | undefined;
  #loadedAt = 0;
  #loading: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly maxAgeMs: number,
  ) {}

  /** The value, reading it when there is none yet. */
  async get(): Promise<T> {
    if (this.#value !== undefined) {
      if (Date.now() - this.#loadedAt >= this.maxAgeMs) this.#refresh().catch(() => undefined);
      return this.#value;
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
