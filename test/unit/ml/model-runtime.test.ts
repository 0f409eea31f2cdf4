import { describe, expect, test } from "vitest";
import type { FeatureEncoder } from "../../../src/ml/features.js";
import { type ModelSnapshot, ModelRuntime, type ServingModel } from "../../../src/ml/model-runtime.js";

/** A serving model whose session records its release. */
function model(kind: ServingModel["kind"], version: string, released: string[] = []): ServingModel {
  return {
    kind,
    version,
    encoder: {} as FeatureEncoder,
    session: {
      run: async () => new Float32Array(),
      metadata: () => ({}),
      release: async () => {
        released.push(version);
      },
    },
  };
}

const versions = (s: ModelSnapshot) => [s.success?.version, s.duration?.version];

describe("ModelRuntime swaps", () => {
  test("a swap waits for the next snapshot to be prepared, and the old one serves meanwhile", async () => {
    const runtime = new ModelRuntime();
    await runtime.install(model("success", "s1"));
    const seen: { next: (string | undefined)[]; servingMeanwhile: (string | undefined)[] }[] = [];
    let finish!: () => void;
    runtime.prepareSwapsWith(async (next) => {
      seen.push({ next: versions(next), servingMeanwhile: versions(runtime.snapshot) });
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    const installing = runtime.install(model("duration", "d1"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(versions(runtime.snapshot)).toEqual(["s1", undefined]);
    finish();
    await installing;
    expect(seen).toEqual([{ next: ["s1", "d1"], servingMeanwhile: ["s1", undefined] }]);
    expect(versions(runtime.snapshot)).toEqual(["s1", "d1"]);
    runtime.close();
  });

  test("an install overtaken by a later one of its kind while preparing does not swap, releases its session and settles once the later one serves", async () => {
    const runtime = new ModelRuntime();
    const released: string[] = [];
    const gates = new Map<string, () => void>();
    runtime.prepareSwapsWith(
      (next) =>
        new Promise<void>((resolve) => {
          gates.set(next.success!.version, resolve);
        }),
    );
    const first = runtime.install(model("success", "s1", released));
    let firstSettled = false;
    void first.then(() => {
      firstSettled = true;
    });
    const second = runtime.install(model("success", "s2", released));
    await new Promise((resolve) => setImmediate(resolve));
    // The overtaken install settles only once the newer one serves.
    gates.get("s1")!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(firstSettled).toBe(false);
    expect(runtime.snapshot.success).toBeUndefined();
    gates.get("s2")!();
    await second;
    await first;
    expect(runtime.snapshot.success?.version).toBe("s2");
    expect(released).toEqual(["s1"]);
    runtime.close();
  });

  test("installing the serving version again prepares nothing and releases the duplicate session", async () => {
    const runtime = new ModelRuntime();
    const released: string[] = [];
    await runtime.install(model("success", "s1", released));
    let prepared = 0;
    runtime.prepareSwapsWith(async () => {
      prepared++;
    });
    await runtime.install(model("success", "s1", released));
    expect(prepared).toBe(0);
    expect(released).toEqual(["s1"]);
    expect(runtime.snapshot.success?.version).toBe("s1");
    runtime.close();
  });
});
