import { describe, expect, it } from "vitest";
import { SnapshotMemo } from "../../../src/learning/snapshot-memo.js";

/** A memo over one owner whose `create` counts how often each key was built. */
function memoOf(maxPerOwner: number) {
  const memo = new SnapshotMemo<object, string>(maxPerOwner);
  const owner = {};
  const built: string[] = [];
  const get = (key: string) =>
    memo.get(owner, key, () => {
      built.push(key);
      return `value of ${key}`;
    });
  return { memo, owner, built, get };
}

describe("SnapshotMemo", () => {
  it("builds a key once per owner and hands back the same value after", () => {
    const { built, get } = memoOf(4);
    expect(get("a")).toBe("value of a");
    expect(get("a")).toBe("value of a");
    expect(built).toEqual(["a"]);
  });

  it("keeps separate tables per owner", () => {
    const memo = new SnapshotMemo<object, number>(4);
    let n = 0;
    const first = {};
    const second = {};
    expect(memo.get(first, "k", () => ++n)).toBe(1);
    expect(memo.get(second, "k", () => ++n)).toBe(2);
    expect(memo.get(first, "k", () => ++n)).toBe(1);
  });

  it("drops only the least recently used key when full, keeping the ones still asked for", () => {
    const { built, get } = memoOf(3);
    get("a");
    get("b");
    get("c");
    get("a"); // a is now the most recently used; b the least
    get("d"); // evicts b alone

    get("a");
    get("c");
    get("d");
    expect(built).toEqual(["a", "b", "c", "d"]);
    get("b");
    expect(built).toEqual(["a", "b", "c", "d", "b"]);
  });

  it("holds at most maxPerOwner keys", () => {
    const { built, get } = memoOf(2);
    for (const key of ["a", "b", "c", "a", "b", "c"]) get(key);
    // Cycling over one key more than fits evicts each key just before it is asked for again.
    expect(built).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("forgets a deleted key, which is built again on the next get", () => {
    const { memo, owner, built, get } = memoOf(4);
    get("a");
    memo.delete(owner, "a");
    get("a");
    expect(built).toEqual(["a", "a"]);
  });
});
