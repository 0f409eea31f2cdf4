import { describe, expect, it } from "vitest";
import { SPARK_GLYPHS, sparkline } from "../../../src/cli/sparkline.js";

describe("sparkline", () => {
  it("maps 0 to the lowest block and 1 to the full block", () => {
    expect(sparkline([0, 1])).toBe("▁█");
  });

  it("gives each of the eight heights to the values at k/7", () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7].map((k) => k / 7))).toBe(SPARK_GLYPHS);
    expect(SPARK_GLYPHS).toBe("▁▂▃▄▅▆▇█");
  });

  it("rounds to the nearest height", () => {
    // 0.5 × 7 = 3.5 rounds up to the fifth glyph; 0.2 × 7 = 1.4 down to the second; 0.9 × 7 = 6.3
    // to the seventh, and 0.93 × 7 = 6.51 up to the full block.
    expect(sparkline([0.5, 0.2, 0.9, 0.93])).toBe("▅▂▇█");
  });

  it("uses a fixed scale, so a flat series at 60% stays at the same middle height", () => {
    expect(sparkline([0.6, 0.6, 0.6])).toBe("▅▅▅");
  });

  it("clamps values outside the scale and leaves a gap for missing ones", () => {
    expect(sparkline([-0.5, 1.7, Number.NaN, 0])).toBe("▁█ ▁");
  });

  it("accepts another scale", () => {
    expect(sparkline([10, 20, 30], 10, 30)).toBe("▁▅█");
  });

  it("draws nothing for no values", () => {
    expect(sparkline([])).toBe("");
  });
});
