import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TtlCache } from "../../../src/service/ttl-cache.js";

// The cache's clock is Date.now: fake timers move it without waiting.

/** A loader answering 1, 2, 3… or, while `failing` is set, rejecting; it counts its calls. */
function counter() {
  const state = { calls: 0, failing: false };
  const load = async () => {
    state.calls += 1;
    if (state.failing) throw new Error(`read ${state.calls} failed`);
    return state.calls;
  };
  return { state, load };
}

/** Lets a background refresh settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("TtlCache", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reads once and serves that value while it is younger than maxAgeMs", async () => {
    const { state, load } = counter();
    const cache = new TtlCache(load, { maxAgeMs: 1_000, maxStaleMs: 5_000, onRefreshError: () => {} });
    expect(await cache.get()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(await cache.get()).toBe(1);
    expect(state.calls).toBe(1);
  });

  it("serves the older value while one refresh runs behind it, then the new one", async () => {
    const { state, load } = counter();
    const cache = new TtlCache(load, { maxAgeMs: 1_000, maxStaleMs: 5_000, onRefreshError: () => {} });
    await cache.get();
    vi.advanceTimersByTime(1_000);
    expect(await Promise.all([cache.get(), cache.get()])).toEqual([1, 1]);
    await settle();
    expect(state.calls).toBe(2);
    expect(await cache.get()).toBe(2);
  });

  it("reports every failed background refresh and keeps serving the value until maxStaleMs", async () => {
    const { state, load } = counter();
    const errors: unknown[] = [];
    const cache = new TtlCache(load, { maxAgeMs: 1_000, maxStaleMs: 5_000, onRefreshError: (error) => errors.push(error) });
    await cache.get();
    state.failing = true;
    vi.advanceTimersByTime(2_000);
    expect(await cache.get()).toBe(1);
    await settle();
    vi.advanceTimersByTime(2_999);
    expect(await cache.get()).toBe(1);
    await settle();
    expect(errors.map((e) => (e as Error).message)).toEqual(["read 2 failed", "read 3 failed"]);
  });

  it("never serves a value older than maxStaleMs: the caller gets the failing read's error", async () => {
    const { state, load } = counter();
    const errors: unknown[] = [];
    const cache = new TtlCache(load, { maxAgeMs: 1_000, maxStaleMs: 5_000, onRefreshError: (error) => errors.push(error) });
    await cache.get();
    state.failing = true;
    vi.advanceTimersByTime(5_000);
    await expect(cache.get()).rejects.toThrow("read 2 failed");
    // Reported to the caller, so not logged a second time as a background failure.
    expect(errors).toEqual([]);
    state.failing = false;
    expect(await cache.get()).toBe(3);
  });

  it("refuses a staleness bound below the refresh age", () => {
    expect(() => new TtlCache(async () => 1, { maxAgeMs: 1_000, maxStaleMs: 999, onRefreshError: () => {} })).toThrow(RangeError);
  });
});
