import { describe, expect, it } from "vitest";
import { RefreshingCache, type RefreshingCacheOptions } from "../../../src/service/refreshing-cache.js";

/**
 * A database stand-in for the cache's loader: read n answers `${key}${n}` (n counts all reads), or
 * rejects while `failing`; while `held`, reads wait until `release()`. The clock is `t`, moved by hand.
 */
function world() {
  const state = { t: 0, calls: 0, failing: false, held: false, errors: [] as string[] };
  let waiting: (() => void)[] = [];
  const load = async (key: string) => {
    state.calls += 1;
    const n = state.calls;
    const failing = state.failing;
    if (state.held) await new Promise<void>((resolve) => waiting.push(resolve));
    if (failing) throw new Error(`read ${n} failed`);
    return `${key}${n}`;
  };
  const release = async () => {
    const now = waiting;
    waiting = [];
    for (const resolve of now) resolve();
    await settle();
  };
  const cache = (options: Partial<RefreshingCacheOptions<string, string>> = {}) =>
    new RefreshingCache<string, string>({
      load,
      refreshAfterMs: 1_000,
      maxStaleMs: 5_000,
      onRefreshError: (error, key) => state.errors.push(`${key}: ${(error as Error).message}`),
      now: () => state.t,
      ...options,
    });
  return { state, release, cache };
}

/** Lets reads that were released (or failed) run to the end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("RefreshingCache", () => {
  it("reads a key once and serves that value while it is younger than refreshAfterMs", async () => {
    const { state, cache } = world();
    const c = cache();
    expect(await c.get("a")).toBe("a1");
    state.t = 999;
    expect(await c.get("a")).toBe("a1");
    expect(state.calls).toBe(1);
  });

  it("makes concurrent first callers share one read", async () => {
    const { state, release, cache } = world();
    const c = cache();
    state.held = true;
    const both = Promise.all([c.get("a"), c.get("a")]);
    await release();
    expect(await both).toEqual(["a1", "a1"]);
    expect(state.calls).toBe(1);
  });

  it("serves the held value without waiting while one refresh runs behind it, then the new one", async () => {
    const { state, release, cache } = world();
    const c = cache();
    await c.get("a");
    state.t = 1_000;
    state.held = true;
    // The refresh is held back: these answer anyway, from memory.
    expect(await Promise.all([c.get("a"), c.get("a"), c.get("a")])).toEqual(["a1", "a1", "a1"]);
    expect(state.calls).toBe(2);
    await release();
    expect(await c.get("a")).toBe("a2");
  });

  it("measures a value's age from the start of the read that produced it", async () => {
    const { state, release, cache } = world();
    const c = cache();
    state.held = true;
    const first = c.get("a");
    state.t = 400;
    await release();
    await first;
    state.t = 999;
    await c.get("a");
    expect(state.calls).toBe(1);
    state.t = 1_000;
    await c.get("a");
    expect(state.calls).toBe(2);
  });

  it("reports each failed background refresh, retries once per refreshAfterMs, and serves the held value until maxStaleMs", async () => {
    const { state, cache } = world();
    const c = cache();
    await c.get("a");
    state.failing = true;
    state.t = 2_000;
    expect(await c.get("a")).toBe("a1");
    await settle();
    state.t = 2_500;
    expect(await c.get("a")).toBe("a1");
    await settle();
    state.t = 4_999;
    expect(await c.get("a")).toBe("a1");
    await settle();
    expect(state.errors).toEqual(["a: read 2 failed", "a: read 3 failed"]);
    expect(state.calls).toBe(3);
  });

  it("never serves a value maxStaleMs old: the caller waits for a read and gets its error", async () => {
    const { state, cache } = world();
    const c = cache();
    await c.get("a");
    state.failing = true;
    state.t = 5_000;
    await expect(c.get("a")).rejects.toThrow("read 2 failed");
    // Reported to the caller, so not logged a second time as a background failure.
    expect(state.errors).toEqual([]);
    state.failing = false;
    expect(await c.get("a")).toBe("a3");
  });

  it("reads on every get when maxStaleMs is 0", async () => {
    const { state, cache } = world();
    const c = cache({ refreshAfterMs: 0, maxStaleMs: 0 });
    expect(await c.get("a")).toBe("a1");
    expect(await c.get("a")).toBe("a2");
    expect(state.calls).toBe(2);
  });

  it("refreshes an invalidated key at once and serves the held value until the new one lands", async () => {
    const { state, release, cache } = world();
    const c = cache();
    await c.get("a");
    state.held = true;
    c.invalidate("a");
    expect(state.calls).toBe(2);
    expect(await c.get("a")).toBe("a1");
    await release();
    expect(await c.get("a")).toBe("a2");
    expect(state.calls).toBe(2);
  });

  it("follows a read that was in flight at an invalidation with another one, since it may not have seen the change", async () => {
    const { state, release, cache } = world();
    const c = cache();
    await c.get("a");
    state.t = 1_000;
    state.held = true;
    await c.get("a");
    c.invalidate("a");
    expect(state.calls).toBe(2);
    await release();
    expect(state.calls).toBe(3);
    await release();
    expect(await c.get("a")).toBe("a3");
  });

  it("invalidates every key when none is named", async () => {
    const { state, cache } = world();
    const c = cache();
    await c.get("a");
    await c.get("b");
    c.invalidate();
    await settle();
    expect(state.calls).toBe(4);
    expect([await c.get("a"), await c.get("b")]).toEqual(["a3", "b4"]);
  });

  it("serves a value set by the process at once, and a read that started before it does not overwrite it", async () => {
    const { state, release, cache } = world();
    const c = cache();
    await c.get("a");
    state.t = 1_000;
    state.held = true;
    await c.get("a");
    c.set("a", "written");
    expect(await c.get("a")).toBe("written");
    await release();
    expect(state.calls).toBe(2);
    expect(await c.get("a")).toBe("written");
  });

  it("keeps the held object when a fresh read is unchanged, and renews its age", async () => {
    const state = { t: 0, calls: 0 };
    const c = new RefreshingCache<string, { n: number }>({
      load: async () => {
        state.calls += 1;
        return { n: 1 };
      },
      refreshAfterMs: 1_000,
      maxStaleMs: 1_000,
      onRefreshError: () => {},
      unchanged: (held, read) => held.n === read.n,
      now: () => state.t,
    });
    const first = await c.get("a");
    state.t = 1_000;
    expect(await c.get("a")).toBe(first);
    state.t = 1_999;
    expect(await c.get("a")).toBe(first);
    expect(state.calls).toBe(2);
  });

  it("drops the least recently used key beyond maxEntries", async () => {
    const { state, cache } = world();
    const c = cache({ maxEntries: 2 });
    await c.get("a");
    await c.get("b");
    await c.get("a");
    await c.get("c");
    expect(await c.get("a")).toBe("a1");
    expect(await c.get("b")).toBe("b4");
    expect(state.calls).toBe(4);
  });

  it("refuses a staleness bound below the refresh age", () => {
    const { cache } = world();
    expect(() => cache({ refreshAfterMs: 1_000, maxStaleMs: 999 })).toThrow(RangeError);
  });
});
