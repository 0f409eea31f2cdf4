/** How a RefreshingCache ages its values, bounds them and reports a refresh that failed. */
export interface RefreshingCacheOptions<K, V> {
  /** Reads the current value of a key (from PostgreSQL, in this service). */
  load(key: K): Promise<V>;
  /** A value at least this old is refreshed in the background by the next `get` (or on `invalidate`). */
  refreshAfterMs: number;
  /**
   * A value at least this old is never served: the caller waits for a fresh read and gets its
   * error. Between `refreshAfterMs` and this, the held value is served while one refresh runs.
   * Equal to `refreshAfterMs`, nothing is served stale; 0 reads on every `get`.
   */
  maxStaleMs: number;
  /** Told of every background refresh that failed (callers got the held value meanwhile). */
  onRefreshError(error: unknown, key: K): void;
  /** Bound on cached keys; the least recently used is dropped first. */
  maxEntries?: number;
  /**
   * Whether a fresh read says nothing new, so the held object is kept (memos keyed by its
   * identity survive) and only its age is renewed.
   */
  unchanged?(held: V, read: V): boolean;
  /** The clock, ms (Date.now unless a test drives it). */
  now?(): number;
}

interface Entry<V> {
  value: V | undefined;
  hasValue: boolean;
  /** Clock time at which the read that produced `value` started: the value is at least this fresh. */
  asOf: number;
  /** Order of the write that produced `value`: an older read landing late never overwrites a newer value. */
  version: number;
  /** The one read in flight for this key. */
  loading: Promise<V> | undefined;
  /** Invalidated since the last read started: the next read must start after that. */
  dirty: boolean;
  /** A background refresh that failed is not retried before this time (one attempt, one log line per period). */
  retryAt: number;
}

/**
 * Values read from the database, served from memory and refreshed in the background: once a key
 * has a value, callers do not wait while a newer one is read, as long as the held one is younger
 * than `maxStaleMs`. One read per key at a time (single flight). A failing background refresh is
 * reported to `onRefreshError`; the held value keeps serving until `maxStaleMs`, after which
 * callers wait for a read and get its error, so a value is never served arbitrarily stale.
 * Ages are measured from the start of the read that produced a value.
 */
export class RefreshingCache<K, V> {
  readonly #entries = new Map<K, Entry<V>>();
  readonly #now: () => number;
  #versions = 0;

  constructor(private readonly options: RefreshingCacheOptions<K, V>) {
    if (options.refreshAfterMs < 0 || options.maxStaleMs < options.refreshAfterMs) {
      throw new RangeError("need 0 <= refreshAfterMs <= maxStaleMs");
    }
    this.#now = options.now ?? Date.now;
  }

  /** The value of `key`: the held one while younger than `maxStaleMs`, else a fresh read. */
  get(key: K): Promise<V> {
    const now = this.#now();
    const entry = this.#touch(key);
    if (entry.hasValue) {
      const age = now - entry.asOf;
      if (age < this.options.maxStaleMs) {
        if ((age >= this.options.refreshAfterMs || entry.dirty) && !entry.loading && now >= entry.retryAt) this.#background(key, entry);
        return Promise.resolve(entry.value as V);
      }
    }
    return this.#read(key, entry);
  }

  /**
   * Marks the held values (of `key`, or all) as outdated, e.g. when another replica announced a
   * change: a refresh starts now, and the held value is served until it lands.
   */
  invalidate(key?: K): void {
    const keys = key === undefined ? [...this.#entries.keys()] : [key];
    for (const k of keys) {
      const entry = this.#entries.get(k);
      if (!entry?.hasValue) continue;
      entry.dirty = true;
      if (!entry.loading) this.#background(k, entry);
    }
  }

  /** Takes a value this process knows to be current (it just wrote it): served at once, read later as usual. */
  set(key: K, value: V): void {
    const entry = this.#touch(key);
    this.#hold(entry, value, this.#now(), ++this.#versions);
    entry.dirty = false;
  }

  /** The entry of `key` (created empty), made the most recently used; evicts beyond `maxEntries`. */
  #touch(key: K): Entry<V> {
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
    } else {
      entry = { value: undefined, hasValue: false, asOf: 0, version: 0, loading: undefined, dirty: false, retryAt: 0 };
    }
    this.#entries.set(key, entry);
    const max = this.options.maxEntries ?? Number.POSITIVE_INFINITY;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= max) break;
      this.#entries.delete(oldest);
    }
    return entry;
  }

  #hold(entry: Entry<V>, read: V, asOf: number, version: number): void {
    const keep = entry.hasValue && this.options.unchanged?.(entry.value as V, read) === true;
    entry.value = keep ? entry.value : read;
    entry.hasValue = true;
    entry.asOf = asOf;
    entry.version = version;
  }

  /** The read in flight for `key`, or a new one; its result is held unless a newer value landed first. */
  #read(key: K, entry: Entry<V>): Promise<V> {
    if (entry.loading) return entry.loading;
    const startedAt = this.#now();
    const version = ++this.#versions;
    const wasDirty = entry.dirty;
    entry.dirty = false;
    const loading = this.options.load(key).then((read) => {
      if (version > entry.version) this.#hold(entry, read, startedAt, version);
      return entry.value as V;
    });
    entry.loading = loading;
    const settled = (failed: boolean) => {
      entry.loading = undefined;
      if (failed) {
        entry.dirty ||= wasDirty;
        entry.retryAt = this.#now() + this.options.refreshAfterMs;
      } else if (entry.dirty) {
        // Invalidated while this read ran: it may have seen the old state.
        this.#background(key, entry);
      }
    };
    loading.then(
      () => settled(false),
      () => settled(true),
    );
    return loading;
  }

  #background(key: K, entry: Entry<V>): void {
    this.#read(key, entry).catch((error: unknown) => this.options.onRefreshError(error, key));
  }
}
