/**
 * Values remembered per owner object (an immutable evidence snapshot, a candidate list) and
 * string key, held only as long as the owner is: a new snapshot starts empty and the old one's
 * entries go with it. An owner's table holds at most `maxPerOwner` entries and is emptied when
 * full, since an owner lives about a second and its few keys are cheap to rebuild.
 */
export class SnapshotMemo<Owner extends object, Value> {
  readonly #tables = new WeakMap<Owner, Map<string, Value>>();

  constructor(private readonly maxPerOwner: number) {}

  /** The value of `key` for `owner`, made by `create` (and remembered) the first time. */
  get(owner: Owner, key: string, create: () => Value): Value {
    let table = this.#tables.get(owner);
    if (!table) {
      table = new Map();
      this.#tables.set(owner, table);
    }
    if (table.has(key)) return table.get(key) as Value;
    const value = create();
    if (table.size >= this.maxPerOwner) table.clear();
    table.set(key, value);
    return value;
  }

  /** Forgets `key` for `owner` (a value that turned out unusable). */
  delete(owner: Owner, key: string): void {
    this.#tables.get(owner)?.delete(key);
  }
}
