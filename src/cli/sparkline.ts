/** The eight block heights of a sparkline, lowest first. */
export const SPARK_GLYPHS = "▁▂▃▄▅▆▇█";

/**
 * Draws a series as one line of block glyphs, so a trend reads at a glance in a terminal. Values
 * are placed on a fixed scale (by default [0, 1], the scale of success rates) rather than
 * stretched to their own minimum and maximum, so the lines of different task types compare and a
 * flat 60% does not look like a swing. Each value gets the nearest of the eight heights; values
 * outside the scale are clamped; a missing (non-finite) value is a space.
 */
export function sparkline(values: readonly number[], min = 0, max = 1): string {
  const top = SPARK_GLYPHS.length - 1;
  const span = max - min;
  return values
    .map((value) => {
      if (!Number.isFinite(value)) return " ";
      const level = span > 0 ? Math.round(((value - min) / span) * top) : 0;
      return SPARK_GLYPHS.charAt(Math.min(top, Math.max(0, level)));
    })
    .join("");
}
