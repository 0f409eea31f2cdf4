import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { type ExecutionRecord, LIMITS } from "../store/execution-record.js";
import type { FieldViolation } from "./errors.js";
import { AGENT_NAME_FORMAT, fieldPath, hasLoneSurrogate, IDENTIFIER_FORMAT_MESSAGE, TASK_TYPE_FORMAT } from "./validation.js";

/** One problem with an incoming execution: where (proto path segments), what, and its reason code. */
export interface ExecutionIssue {
  path: (string | number)[];
  message: string;
  reason: string;
}

/** The outcome of validating one execution: the record, or why not. */
export type ExecutionValidation = { ok: true; record: ExecutionRecord } | { ok: false; issues: ExecutionIssue[] };

/** Task types and agent names share their limit (LIMITS.taskType, LIMITS.agentName). */
const IDENTIFIER_MAX = 64;
const MIN_SECONDS = -62_135_596_800n; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253_402_300_799n; // 9999-12-31T23:59:59Z

/**
 * Checks one execution in a single pass over its fields and builds the normalised record. The
 * rules, messages, reasons and their order are those of the API's other requests (validation.ts):
 * every problem of every field is reported, in field order; a field whose text is unusable
 * (task type, agent names, references, timestamps) skips the checks that need its normalised
 * value, and the cross-field check (finished_at before started_at) runs only when every field
 * could be read. Written as plain code because this runs for every row of a bulk upload: the
 * same checks as schema combinators cost two orders of magnitude more.
 */
export function validateExecution(execution: Execution): ExecutionValidation {
  // A "__proto__" key cannot be an ordinary own key of the record's metrics object: the name is
  // refused on its own, before anything else, rather than silently lost.
  if (execution.resourceUsage && Object.hasOwn(execution.resourceUsage.metrics, "__proto__")) {
    return { ok: false, issues: [{ path: ["resourceUsage", "metrics", "__proto__"], message: "name __proto__ is reserved", reason: "RESERVED_NAME" }] };
  }
  const issues: ExecutionIssue[] = [];
  // Set when a field's value could not be normalised (zod would say "aborted").
  let unreadable = false;
  const add = (path: (string | number)[], message: string, reason: string) => issues.push({ path, message, reason });
  const text = (path: (string | number)[], value: string, max: number, min = 0): boolean => {
    const problems = textProblems(value, max, min);
    for (const [message, reason] of problems) add(path, message, reason);
    return problems.length === 0;
  };
  const finite = (path: (string | number)[], value: number, min: number, max: number): boolean => {
    if (Number.isNaN(value)) {
      add(path, "must be a number, not NaN", "NOT_A_NUMBER");
      unreadable = true;
      return false;
    }
    if (!Number.isFinite(value)) add(path, "must be finite", "NOT_FINITE");
    else if (value < min || value > max) add(path, `must be between ${min} and ${max}`, "OUT_OF_RANGE");
    else return true;
    return false;
  };
  const identifier = (path: (string | number)[], value: string, fold: (s: string) => string, format: RegExp): string | undefined => {
    if (!text(path, value, IDENTIFIER_MAX, 1)) {
      unreadable = true;
      return undefined;
    }
    const folded = fold(value.trim());
    // Case folding can lengthen a string (e.g. "ß" → "SS"), so the limit is checked again after it.
    if (folded.length > IDENTIFIER_MAX) add(path, `must be at most ${IDENTIFIER_MAX} characters`, "TOO_LONG");
    if (!format.test(folded)) add(path, IDENTIFIER_FORMAT_MESSAGE, "INVALID_FORMAT");
    return folded;
  };
  const reference = (path: string, value: string): string | null => {
    if (!text([path], value, LIMITS.reference)) unreadable = true;
    return value === "" ? null : value;
  };

  text(["executionId"], execution.executionId, LIMITS.executionId, 1);
  const taskType = identifier(["taskType"], execution.taskType, (s) => s.toLowerCase(), TASK_TYPE_FORMAT);
  text(["taskDescription"], execution.taskDescription, LIMITS.taskDescription);
  finite(["complexity"], execution.complexity, 0, LIMITS.maxComplexity);
  const agents = validateAgents(execution.agents, add, identifier);
  if (agents === undefined) unreadable = true;
  finite(["durationSeconds"], execution.durationSeconds, 0, LIMITS.maxDurationSeconds);
  text(["errorMessage"], execution.errorMessage, LIMITS.errorMessage);
  const usage = execution.resourceUsage;
  let metrics: Record<string, number> = {};
  if (usage) {
    finite(["resourceUsage", "cpuPercent"], usage.cpuPercent, 0, LIMITS.maxCpuPercent);
    finite(["resourceUsage", "memoryMb"], usage.memoryMb, 0, Number.MAX_VALUE);
    const checked = validateMetrics(usage.metrics, add, finite);
    if (checked === undefined) unreadable = true;
    metrics = checked ?? {};
  }
  const satisfaction = execution.userSatisfaction;
  if (satisfaction !== undefined && (!Number.isInteger(satisfaction) || satisfaction < 1 || satisfaction > 10)) {
    add(["userSatisfaction"], "must be between 1 and 10", "OUT_OF_RANGE");
  }
  const startedAtUs = timestamp(["startedAt"], execution.startedAt, add);
  const finishedAtUs = timestamp(["finishedAt"], execution.finishedAt, add);
  if (startedAtUs === undefined || finishedAtUs === undefined) unreadable = true;
  const recommendationId = reference("recommendationId", execution.recommendationId);
  const modelVersion = reference("modelVersion", execution.modelVersion);
  if (!unreadable && startedAtUs != null && finishedAtUs != null && finishedAtUs < startedAtUs) {
    add(["finishedAt"], "must not be before started_at", "BEFORE_START");
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    record: {
      executionId: execution.executionId,
      taskType: taskType as string,
      taskDescription: execution.taskDescription,
      complexity: execution.complexity,
      agents: agents as string[],
      durationSeconds: execution.durationSeconds,
      success: execution.success,
      errorMessage: execution.errorMessage,
      cpuPercent: usage ? usage.cpuPercent : null,
      memoryMb: usage ? usage.memoryMb : null,
      metrics,
      userSatisfaction: satisfaction ?? null,
      startedAtUs: startedAtUs ?? null,
      finishedAtUs: finishedAtUs ?? null,
      recommendationId,
      modelVersion,
    },
  };
}

type Add = (path: (string | number)[], message: string, reason: string) => void;

/** A team: 1 to 64 distinct agents, order kept, names in upper case; undefined if a name is unusable. */
function validateAgents(
  names: readonly string[],
  add: Add,
  identifier: (path: (string | number)[], value: string, fold: (s: string) => string, format: RegExp) => string | undefined,
): string[] | undefined {
  if (names.length < 1) add(["agents"], "must name at least one agent", "EMPTY");
  if (names.length > LIMITS.agents) add(["agents"], `must name at most ${LIMITS.agents} agents`, "TOO_MANY");
  const agents: string[] = [];
  let usable = true;
  names.forEach((name, i) => {
    const agent = identifier(["agents", i], name, (s) => s.toUpperCase(), AGENT_NAME_FORMAT);
    if (agent === undefined) usable = false;
    else agents.push(agent);
  });
  if (!usable) return undefined;
  const seen = new Set<string>();
  agents.forEach((agent, i) => {
    if (seen.has(agent)) add(["agents", i], `duplicate agent ${agent}`, "DUPLICATE");
    seen.add(agent);
  });
  return agents;
}

/** Metric values must be finite; names 1 to 64 characters of text; at most 64 of them. */
function validateMetrics(
  metrics: Record<string, number>,
  add: Add,
  finite: (path: (string | number)[], value: number, min: number, max: number) => boolean,
): Record<string, number> | undefined {
  const names = Object.keys(metrics);
  let numbers = true;
  for (const name of names) {
    const value = metrics[name] as number;
    if (Number.isNaN(value)) numbers = false;
    finite(["resourceUsage", "metrics", name], value, -Number.MAX_VALUE, Number.MAX_VALUE);
  }
  // The count and name checks look at the map only once every value is a number.
  if (!numbers) return undefined;
  if (names.length > LIMITS.metrics) add(["resourceUsage", "metrics"], `must have at most ${LIMITS.metrics} entries`, "TOO_MANY");
  for (const name of names) {
    const [first] = textProblems(name, LIMITS.metricName, 1);
    if (first) add(["resourceUsage", "metrics", name], `name ${first[0]}`, "INVALID_NAME");
  }
  // The decoded message is this call's own: its map is taken as it is, not copied.
  return metrics;
}

/** What is wrong with a text field: [message, reason] pairs, in the order they are reported. */
function textProblems(value: string, max: number, min: number): [string, string][] {
  const problems: [string, string][] = [];
  if (min === 1 && value.length < 1) problems.push(["must not be empty", "EMPTY"]);
  if (value.length > max) problems.push([`must be at most ${max} characters`, "TOO_LONG"]);
  // Text PostgreSQL can store verbatim: no NUL, no lone UTF-16 surrogate (which would be altered).
  if (value.includes("\u0000")) problems.push(["must not contain NUL characters", "INVALID_CHARACTER"]);
  if (hasLoneSurrogate(value)) problems.push(["must be valid Unicode", "INVALID_UTF8"]);
  return problems;
}

/** An optional protobuf Timestamp as microseconds since the epoch: null when absent, undefined when invalid. */
function timestamp(path: (string | number)[], ts: Timestamp | undefined, add: Add): bigint | null | undefined {
  if (ts === undefined) return null;
  let ok = true;
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS) {
    add(path, "must be between years 1 and 9999", "OUT_OF_RANGE");
    ok = false;
  }
  if (ts.nanos < 0 || ts.nanos > 999_999_999) {
    add([...path, "nanos"], "must be between 0 and 999999999", "OUT_OF_RANGE");
    ok = false;
  }
  return ok ? ts.seconds * 1_000_000n + BigInt(Math.floor(ts.nanos / 1000)) : undefined;
}

/** The issues as field violations under a request path prefix ("execution" for RecordExecution). */
export function executionViolations(issues: readonly ExecutionIssue[], prefix = ""): FieldViolation[] {
  return issues.map((issue) => ({ field: fieldPath(prefix, issue.path), description: issue.message, reason: issue.reason }));
}
