import type { JsonValue } from "@bufbuild/protobuf";

/** How a command reports its result: readable text for people, or one JSON document for scripts. */
export interface OutputOptions {
  /** Print the machine-readable JSON form instead of text. */
  json?: boolean;
}

/** Which stream a report goes to; stderr when stdout carries data (e.g. `export -`). */
export type ReportStream = "stdout" | "stderr";

/**
 * Prints a command's result in the form the user asked for. The JSON form is one document on
 * one line, so `| jq` and line-oriented tools both work.
 */
export function printResult(options: OutputOptions, human: () => string, json: () => JsonValue, stream: ReportStream = "stdout"): void {
  const text = options.json === true ? JSON.stringify(json()) : human();
  process[stream].write(text.endsWith("\n") ? text : `${text}\n`);
}

/** Prints diagnostic lines on stderr, which stays free of results so stdout can be piped. */
export function printErrors(lines: readonly string[]): void {
  process.stderr.write(lines.map((line) => `${line}\n`).join(""));
}

/** Formats a share in [0, 1] as a percentage with one decimal, e.g. 0.8125 → "81.3%". */
export function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** "1 line" / "2 lines": counts read as sentences in human output. */
export function plural(count: number | bigint, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 || count === 1n ? singular : pluralForm}`;
}
