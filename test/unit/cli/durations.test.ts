import { describe, expect, it } from "vitest";
import { formatDuration } from "../../../src/cli/durations.js";

describe("formatDuration", () => {
  it("reads as people say durations", () => {
    expect(formatDuration(4.23)).toBe("4.2s");
    expect(formatDuration(45.4)).toBe("45s");
    expect(formatDuration(252)).toBe("4m 12s");
    expect(formatDuration(3600 + 5 * 60 + 20)).toBe("1h 05m");
  });

  it("rounds across unit boundaries without printing 60s", () => {
    expect(formatDuration(59.7)).toBe("1m 00s");
    expect(formatDuration(3599.6)).toBe("1h 00m");
  });

  it("marks impossible values", () => {
    expect(formatDuration(Number.NaN)).toBe("?");
    expect(formatDuration(-1)).toBe("?");
  });
});
