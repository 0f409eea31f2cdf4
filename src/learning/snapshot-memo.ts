/**
 * Values remembered per owner object (an immutable evidence snapshot, a candidate list) and
 * string key, held only as long as the owner is: a new snapshot starts empty and the old one's
 * entries go with it. An owner's table holds at most `maxPerOwner` entries; beyond that the least
 * recently used one is dropped, so the shapes a busy owner keeps being asked for stay while a
 * one-off request shape passes through (emptying the whole table rebuilt every hot entry).
 */
export class SnapshotMemo<Owner extends object, Value> {
  readonly #tables = new WeakMap<Owner, Map<string, Value>>();

  constructor(private readonly maxPerOwner: number) {
    if (!(maxPerOwner >= 1)) throw new RangeError("maxPerOwner must be at least 1");
  }

  /** The value of `key` for `owner`, made by `create` (and remembered) the first time. */
  get(owner: Owner, key: string, create: () => Value): Value {
    let table = this.#tables.get(owner);
    if (!table) {
      table = new Map();
      this.#tables.set(owner, table);
    }
    if (table.has(key)) {
      const value = table.get(key) as Value;
      // A Map iterates in insertion order: re-inserting makes this key the most recently used.
      table.delete(key);
      table.set(key, value);
      return value;
    }
    const value = create();
    table.set(key, value);
    if (table.size > this.maxPerOwner) {
      const leastRecent = table.keys().next().value;
      if (leastRecent !== undefined) table.delete(leastRecent);
    }
    return value;
  }

  /** Forgets `key` for `owner` (a value that turned out unusable). */
  delete(owner: Owner, key: string): void {
    this.#tables.get(owner)?.delete(key);
  }
}
