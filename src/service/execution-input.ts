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

type Path = readonly (string | number)[];

/** Field paths, built once: the happy path of a bulk upload allocates none. */
const PATHS = {
  executionId: ["executionId"],
  taskType: ["taskType"],
  taskDescription: ["taskDescription"],
  complexity: ["complexity"],
  agents: ["agents"],
  durationSeconds: ["durationSeconds"],
  errorMessage: ["errorMessage"],
  cpuPercent: ["resourceUsage", "cpuPercent"],
  memoryMb: ["resourceUsage", "memoryMb"],
  metrics: ["resourceUsage", "metrics"],
  userSatisfaction: ["userSatisfaction"],
  startedAt: ["startedAt"],
  finishedAt: ["finishedAt"],
  recommendationId: ["recommendationId"],
  modelVersion: ["modelVersion"],
} as const satisfies Record<string, Path>;

/**
 * The issues found so far in one execution, and the checks that add to them. `last`, when given,
 * is appended to the path (an agent's index, a metric's name), so the path is built only for a
 * problem.
 */
class Checks {
  readonly issues: ExecutionIssue[] = [];
  /** Set when a field's value could not be normalised (zod would say "aborted"). */
  unreadable = false;

  add(path: Path, message: string, reason: string, last?: string | number): void {
    this.issues.push({ path: last === undefined ? [...path] : [...path, last], message, reason });
  }

  text(path: Path, value: string, max: number, min = 0, last?: string | number): boolean {
    const problems = textProblems(value, max, min);
    for (const [message, reason] of problems) this.add(path, message, reason, last);
    return problems.length === 0;
  }

  finite(path: Path, value: number, min: number, max: number, last?: string): boolean {
    if (Number.isNaN(value)) {
      this.add(path, "must be a number, not NaN", "NOT_A_NUMBER", last);
      this.unreadable = true;
      return false;
    }
    if (!Number.isFinite(value)) this.add(path, "must be finite", "NOT_FINITE", last);
    else if (value < min || value > max) this.add(path, `must be between ${min} and ${max}`, "OUT_OF_RANGE", last);
    else return true;
    return false;
  }

  identifier(path: Path, value: string, upper: boolean, format: RegExp, last?: number): string | undefined {
    if (!this.text(path, value, IDENTIFIER_MAX, 1, last)) {
      this.unreadable = true;
      return undefined;
    }
    const trimmed = value.trim();
    const folded = upper ? trimmed.toUpperCase() : trimmed.toLowerCase();
    // Case folding can lengthen a string (e.g. "ß" → "SS"), so the limit is checked again after it.
    if (folded.length > IDENTIFIER_MAX) this.add(path, `must be at most ${IDENTIFIER_MAX} characters`, "TOO_LONG", last);
    if (!format.test(folded)) this.add(path, IDENTIFIER_FORMAT_MESSAGE, "INVALID_FORMAT", last);
    return folded;
  }

  reference(path: Path, value: string): string | null {
    if (!this.text(path, value, LIMITS.reference)) this.unreadable = true;
    return value === "" ? null : value;
  }
}

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
    return {
      ok: false,
      issues: [{ path: ["resourceUsage", "metrics", "__proto__"], message: "name __proto__ is reserved", reason: "RESERVED_NAME" }],
    };
  }
  const c = new Checks();
  c.text(PATHS.executionId, execution.executionId, LIMITS.executionId, 1);
  const taskType = c.identifier(PATHS.taskType, execution.taskType, false, TASK_TYPE_FORMAT);
  c.text(PATHS.taskDescription, execution.taskDescription, LIMITS.taskDescription);
  c.finite(PATHS.complexity, execution.complexity, 0, LIMITS.maxComplexity);
  const agents = validateAgents(execution.agents, c);
  if (agents === undefined) c.unreadable = true;
  c.finite(PATHS.durationSeconds, execution.durationSeconds, 0, LIMITS.maxDurationSeconds);
  c.text(PATHS.errorMessage, execution.errorMessage, LIMITS.errorMessage);
  const usage = execution.resourceUsage;
  let metrics: Record<string, number> = {};
  if (usage) {
    c.finite(PATHS.cpuPercent, usage.cpuPercent, 0, LIMITS.maxCpuPercent);
    c.finite(PATHS.memoryMb, usage.memoryMb, 0, Number.MAX_VALUE);
    const checked = validateMetrics(usage.metrics, c);
    if (checked === undefined) c.unreadable = true;
    metrics = checked ?? {};
  }
  const satisfaction = execution.userSatisfaction;
  if (satisfaction !== undefined && (!Number.isInteger(satisfaction) || satisfaction < 1 || satisfaction > 10)) {
    c.add(PATHS.userSatisfaction, "must be between 1 and 10", "OUT_OF_RANGE");
  }
  const startedAtUs = timestamp(PATHS.startedAt, execution.startedAt, c);
  const finishedAtUs = timestamp(PATHS.finishedAt, execution.finishedAt, c);
  if (startedAtUs === undefined || finishedAtUs === undefined) c.unreadable = true;
  const recommendationId = c.reference(PATHS.recommendationId, execution.recommendationId);
  const modelVersion = c.reference(PATHS.modelVersion, execution.modelVersion);
  if (!c.unreadable && startedAtUs != null && finishedAtUs != null && finishedAtUs < startedAtUs) {
    c.add(PATHS.finishedAt, "must not be before started_at", "BEFORE_START");
  }
  if (c.issues.length > 0) return { ok: false, issues: c.issues };
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

/** Teams up to this size are checked for duplicates by scanning. */
const SMALL_TEAM = 16;

/** A team: 1 to 64 distinct agents, order kept, names in upper case; undefined if a name is unusable. */
function validateAgents(names: readonly string[], c: Checks): string[] | undefined {
  if (names.length < 1) c.add(PATHS.agents, "must name at least one agent", "EMPTY");
  if (names.length > LIMITS.agents) c.add(PATHS.agents, `must name at most ${LIMITS.agents} agents`, "TOO_MANY");
  const agents: string[] = [];
  let usable = true;
  for (let i = 0; i < names.length; i++) {
    const agent = c.identifier(PATHS.agents, names[i] as string, true, AGENT_NAME_FORMAT, i);
    if (agent === undefined) usable = false;
    else agents.push(agent);
  }
  if (!usable) return undefined;
  // A valid team is small: a scan allocates nothing, where a Set would for every row. A hostile
  // list (thousands of names, already refused as TOO_MANY) still gets its duplicates reported,
  // through a Set, so the check stays linear.
  if (agents.length <= SMALL_TEAM) {
    for (let i = 1; i < agents.length; i++) {
      const agent = agents[i] as string;
      if (agents.indexOf(agent) < i) c.add(PATHS.agents, `duplicate agent ${agent}`, "DUPLICATE", i);
    }
  } else {
    const seen = new Set<string>();
    agents.forEach((agent, i) => {
      if (seen.has(agent)) c.add(PATHS.agents, `duplicate agent ${agent}`, "DUPLICATE", i);
      seen.add(agent);
    });
  }
  return agents;
}

/** Metric values must be finite; names 1 to 64 characters of text; at most 64 of them. */
function validateMetrics(metrics: Record<string, number>, c: Checks): Record<string, number> | undefined {
  const names = Object.keys(metrics);
  let numbers = true;
  for (const name of names) {
    const value = metrics[name] as number;
    if (Number.isNaN(value)) numbers = false;
    c.finite(PATHS.metrics, value, -Number.MAX_VALUE, Number.MAX_VALUE, name);
  }
  // The count and name checks look at the map only once every value is a number.
  if (!numbers) return undefined;
  if (names.length > LIMITS.metrics) c.add(PATHS.metrics, `must have at most ${LIMITS.metrics} entries`, "TOO_MANY");
  for (const name of names) {
    const [first] = textProblems(name, LIMITS.metricName, 1);
    if (first) c.add(PATHS.metrics, `name ${first[0]}`, "INVALID_NAME", name);
  }
  // The decoded message is this call's own: its map is taken as it is, not copied.
  return metrics;
}

const NO_PROBLEMS: readonly [string, string][] = [];

/** What is wrong with a text field: [message, reason] pairs, in the order they are reported. */
function textProblems(value: string, max: number, min: number): readonly [string, string][] {
  const empty = min === 1 && value.length < 1;
  const long = value.length > max;
  // Text PostgreSQL can store verbatim: no NUL, no lone UTF-16 surrogate (which would be altered).
  const nul = value.includes("\u0000");
  const surrogate = hasLoneSurrogate(value);
  if (!(empty || long || nul || surrogate)) return NO_PROBLEMS;
  const problems: [string, string][] = [];
  if (empty) problems.push(["must not be empty", "EMPTY"]);
  if (long) problems.push([`must be at most ${max} characters`, "TOO_LONG"]);
  if (nul) problems.push(["must not contain NUL characters", "INVALID_CHARACTER"]);
  if (surrogate) problems.push(["must be valid Unicode", "INVALID_UTF8"]);
  return problems;
}

/** An optional protobuf Timestamp as microseconds since the epoch: null when absent, undefined when invalid. */
function timestamp(path: Path, ts: Timestamp | undefined, c: Checks): bigint | null | undefined {
  if (ts === undefined) return null;
  let ok = true;
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS) {
    c.add(path, "must be between years 1 and 9999", "OUT_OF_RANGE");
    ok = false;
  }
  if (ts.nanos < 0 || ts.nanos > 999_999_999) {
    c.add(path, "must be between 0 and 999999999", "OUT_OF_RANGE", "nanos");
    ok = false;
  }
  return ok ? ts.seconds * 1_000_000n + BigInt(Math.floor(ts.nanos / 1000)) : undefined;
}

/** The issues as field violations under a request path prefix ("execution" for RecordExecution). */
export function executionViolations(issues: readonly ExecutionIssue[], prefix = ""): FieldViolation[] {
  return issues.map((issue) => ({ field: fieldPath(prefix, issue.path), description: issue.message, reason: issue.reason }));
}
