// How the console writes figures: pure functions, shared with the browser tests that compare
// what a page shows with what the API returned.

/** A rate in [0, 1] as a percentage with one decimal, e.g. "93.1%". */
export function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** A probability with three decimals, e.g. "0.931". */
export function prob(value: number): string {
  return value.toFixed(3);
}

/** An interval as "[lower, upper]" with three decimals. */
export function interval(range: { lower: number; upper: number } | undefined): string {
  return range ? `[${prob(range.lower)}, ${prob(range.upper)}]` : "—";
}

/** A duration in seconds, e.g. "41 s", "6.2 min", "1.5 h". */
export function seconds(value: number): string {
  if (value < 90) return `${value.toFixed(0)} s`;
  if (value < 5400) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

/** A whole count with thousands separators. */
export function count(value: bigint | number): string {
  return Number(value).toLocaleString("en-US");
}

/** A date and time in the reader's locale, to the second. */
export function when(date: Date | undefined): string {
  return date ? date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "—";
}
