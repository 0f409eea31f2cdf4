import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { z } from "zod";
import { invalidArgument, type FieldViolation } from "./errors.js";

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const anySurrogate = /[\uD800-\uDFFF]/;

/** Whether a string holds a UTF-16 surrogate without its pair (PostgreSQL would store something else). */
export function hasLoneSurrogate(s: string): boolean {
  return anySurrogate.test(s) && loneSurrogate.test(s);
}

/** Task types and agent names (after case folding), and what to say when one is not. */
export const TASK_TYPE_FORMAT = /^[a-z0-9][a-z0-9_.-]*$/;
export const AGENT_NAME_FORMAT = /^[A-Z0-9][A-Z0-9_.-]*$/;
export const IDENTIFIER_FORMAT_MESSAGE = "must be letters, digits, '_', '-' or '.', starting with a letter or digit";

/** Text PostgreSQL can store verbatim: no NUL, no lone UTF-16 surrogate (which would be altered). */
export function text(max: number, min = 0) {
  return z
    .string()
    .min(min, min === 1 ? { message: "must not be empty" } : undefined)
    .max(max, { message: `must be at most ${max} characters` })
    .refine((s) => !s.includes("\u0000"), { message: "must not contain NUL characters", params: { reason: "INVALID_CHARACTER" } })
    .refine((s) => !hasLoneSurrogate(s), { message: "must be valid Unicode", params: { reason: "INVALID_UTF8" } });
}

/** A finite number in [min, max]; NaN and infinities are rejected with their own reason. */
export function finite(min: number, max: number) {
  return (
    z
      .number()
      // z.number() itself rejects NaN (reported as NOT_A_NUMBER by reasonOf).
      .refine((n) => Number.isFinite(n), { message: "must be finite", params: { reason: "NOT_FINITE" } })
      .refine((n) => !Number.isFinite(n) || (n >= min && n <= max), {
        message: `must be between ${min} and ${max}`,
        params: { reason: "OUT_OF_RANGE" },
      })
  );
}

/** Task types are case-insensitive identifiers, stored in lower case. */
export const taskTypeSchema = text(64, 1)
  .transform((s) => s.trim().toLowerCase())
  // Case folding can lengthen a string (e.g. "İ" → "i̇"), so the limit is checked again after it.
  .refine((s) => s.length <= 64, { message: "must be at most 64 characters", params: { reason: "TOO_LONG" } })
  .refine((s) => TASK_TYPE_FORMAT.test(s), {
    message: IDENTIFIER_FORMAT_MESSAGE,
    params: { reason: "INVALID_FORMAT" },
  });

/** Agent names are case-insensitive identifiers, stored in upper case. */
export const agentNameSchema = text(64, 1)
  .transform((s) => s.trim().toUpperCase())
  // Case folding can lengthen a string (e.g. "ß" → "SS"), so the limit is checked again after it.
  .refine((s) => s.length <= 64, { message: "must be at most 64 characters", params: { reason: "TOO_LONG" } })
  .refine((s) => AGENT_NAME_FORMAT.test(s), {
    message: IDENTIFIER_FORMAT_MESSAGE,
    params: { reason: "INVALID_FORMAT" },
  });

/** A team: 1 to 64 distinct agents, order kept. */
export const agentListSchema = z
  .array(agentNameSchema)
  .min(1, { message: "must name at least one agent" })
  .max(64, { message: "must name at most 64 agents" })
  .superRefine((agents, ctx) => {
    const seen = new Set<string>();
    agents.forEach((agent, i) => {
      if (seen.has(agent)) {
        ctx.addIssue({ code: "custom", path: [i], message: `duplicate agent ${agent}`, params: { reason: "DUPLICATE" } });
      }
      seen.add(agent);
    });
  });

const MIN_SECONDS = -62_135_596_800n; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z

/** An optional protobuf Timestamp as microseconds since the epoch (PostgreSQL's precision). */
export const timestampSchema = z
  .custom<Timestamp | undefined>()
  .superRefine((ts, ctx) => {
    if (ts === undefined) return;
    if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS) {
      ctx.addIssue({ code: "custom", message: "must be between years 1 and 9999", params: { reason: "OUT_OF_RANGE" } });
    }
    if (ts.nanos < 0 || ts.nanos > 999_999_999) {
      ctx.addIssue({ code: "custom", path: ["nanos"], message: "must be between 0 and 999999999", params: { reason: "OUT_OF_RANGE" } });
    }
  })
  .transform((ts) => (ts === undefined ? null : ts.seconds * 1_000_000n + BigInt(Math.floor(ts.nanos / 1000))));

function snakeCase(segment: string): string {
  return segment.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Map fields of the API, whose keys are data (kept verbatim in paths), not field names. */
const MAP_FIELDS = new Set(["metrics"]);

/**
 * Renders a zod path with proto field names: ["resourceUsage", "cpuPercent"] →
 * "resource_usage.cpu_percent"; a map key stays as sent ("metrics.tokensIn"), an empty one is
 * left out so the path names the map.
 */
export function fieldPath(prefix: string, path: readonly (string | number)[]): string {
  let out = prefix;
  let previous: string | number | undefined;
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    // A key is data of any length: a long one is cut so error details stay within header limits.
    else if (typeof previous === "string" && MAP_FIELDS.has(previous))
      out += segment === "" ? "" : `.${segment.length > 80 ? `${segment.slice(0, 80)}…` : segment}`;
    else out += out === "" ? snakeCase(segment) : `.${snakeCase(segment)}`;
    previous = segment;
  }
  return out;
}

function reasonOf(issue: z.ZodIssue): string {
  if (issue.code === "custom") {
    const reason = (issue.params as { reason?: unknown } | undefined)?.reason;
    return typeof reason === "string" ? reason : "INVALID";
  }
  if (issue.code === "too_small")
    return issue.minimum === 1 && issue.type !== "number" ? "EMPTY" : issue.type === "number" ? "OUT_OF_RANGE" : "TOO_SHORT";
  if (issue.code === "too_big") return issue.type === "array" ? "TOO_MANY" : issue.type === "number" ? "OUT_OF_RANGE" : "TOO_LONG";
  if (issue.code === "invalid_enum_value") return "UNKNOWN_ENUM_VALUE";
  if (issue.code === "invalid_type") return issue.received === "nan" ? "NOT_A_NUMBER" : "INVALID_TYPE";
  return "INVALID";
}

/** Converts zod issues into field violations under a request path prefix. */
export function violationsOf(error: z.ZodError, prefix = ""): FieldViolation[] {
  return error.issues.map((issue) => ({
    field: fieldPath(prefix, issue.path),
    description: issue.code === "invalid_type" && issue.received === "nan" ? "must be a number, not NaN" : issue.message,
    reason: reasonOf(issue),
  }));
}

/** Parses a request with a zod schema, or throws INVALID_ARGUMENT naming every bad field. */
export function parseRequest<S extends z.ZodTypeAny>(schema: S, input: unknown, prefix = ""): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw invalidArgument(violationsOf(result.error, prefix));
  return result.data;
}

/** An enum value the proto defines (protobuf decodes unknown numbers as plain numbers). */
export function knownEnum<E extends Record<string, string | number>>(enumObject: E, options: { allowUnspecified: boolean }) {
  const known = new Set(Object.values(enumObject).filter((v): v is number => typeof v === "number"));
  return z.number().refine((v) => known.has(v) && (options.allowUnspecified || v !== 0), {
    message: options.allowUnspecified ? "is not a known value" : "must be set to a known value",
    params: { reason: "UNKNOWN_ENUM_VALUE" },
  });
}
