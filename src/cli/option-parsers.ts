import { InvalidArgumentError } from "commander";

// Parsers for commander arguments and options: each checks its value where the user typed it, so
// a mistake is a usage error naming the flag before any connection is made, not an RPC failure.

/** A parser for a whole number in [min, max]. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === "" || !Number.isInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

/** A parser for a finite number in [min, max], e.g. a complexity or a share. */
export function numberIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === "" || !Number.isFinite(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    }
    return number;
  };
}

/**
 * Parses "A,B" into ["A", "B"], trimming each name and dropping empty ones. Repeating the option
 * adds to the list (`--exclude A --exclude B`), which is why it takes the previous value.
 */
export function nameList(value: string, previous: readonly string[] = []): string[] {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) throw new InvalidArgumentError("expected one or more comma-separated names");
  return [...previous, ...names];
}

/** A parser for an ISO 8601 time, e.g. 2025-01-31T12:00:00Z. */
export function parseTime(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError("expected an ISO 8601 time, e.g. 2025-01-31T12:00:00Z");
  return date;
}
