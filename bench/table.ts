/** Left-aligned first column, right-aligned figures, two spaces between columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** A ratio with fixed decimals, "n/a" when it could not be computed. */
export function ratio(value: number | undefined, digits = 3): string {
  return value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
}
