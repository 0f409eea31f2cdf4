import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BackendTerminatedError, BackendTerminatedUnexpectedlyError, ConnectionError, StatementTimeoutError } from "slonik";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** The error domain of AIP-193 ErrorInfo: our service name. */
export const ERROR_DOMAIN = "agentlearning.v1";

/** Violations carried in one error's BadRequest detail, and characters kept of each text. */
const MAX_VIOLATIONS = 50;
const MAX_TEXT = 200;
const clip = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

/** One invalid field of a request. */
export interface FieldViolation {
  /** Path in proto field names, e.g. "execution.agents[2]". */
  field: string;
  /** Human-readable reason. */
  description: string;
  /** UPPER_SNAKE_CASE machine-readable reason. */
  reason: string;
}

/**
 * INVALID_ARGUMENT carrying every violation as a google.rpc.BadRequest detail (and an ErrorInfo),
 * so clients in any language can point at the field without parsing the message.
 */
export function invalidArgument(all: readonly FieldViolation[]): ConnectError {
  // Error details travel in HTTP/2 trailers, whose size is bounded (64 KB in Node): a request
  // with thousands of bad items gets the first ones, and the message says how many there were.
  const violations = all.slice(0, MAX_VIOLATIONS).map((v) => ({ ...v, field: clip(v.field), description: clip(v.description) }));
  const first = violations[0];
  const message = first
    ? `${first.field}: ${first.description}${all.length > 1 ? ` (and ${all.length - 1} more)` : ""}`
    : "invalid request";
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    {
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: violations.map((v) => ({ ...v })) }),
    },
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, {
        reason: first?.reason ?? "INVALID_ARGUMENT",
        domain: ERROR_DOMAIN,
        metadata: first ? { field: first.field } : {},
      }),
    },
  ]);
}

/** An error with an AIP-193 ErrorInfo detail, for codes other than INVALID_ARGUMENT. */
export function errorWithInfo(code: Code, message: string, reason: string, metadata: Record<string, string> = {}): ConnectError {
  return new ConnectError(message, code, undefined, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata }) },
  ]);
}

const connectionErrorCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"]);

/**
 * Whether an error means PostgreSQL cannot be reached right now (as opposed to a bug): those
 * become UNAVAILABLE, which clients retry, and the pool reconnects by itself when it returns.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionError || error instanceof BackendTerminatedError || error instanceof BackendTerminatedUnexpectedlyError) {
    return true;
  }
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now).
      if (code.startsWith("08") || /^57P0[1-3]$/.test(code) || connectionErrorCodes.has(code)) return true;
    }
    if (/Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(e.message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Turns any error escaping a handler into what the client may see: ConnectErrors pass through;
 * an unreachable database is UNAVAILABLE; anything else is INTERNAL with no SQL or stack, after
 * the caller has logged it with context.
 */
export function toClientError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return isMalformedRequest(error) ? malformedRequest(error) : error;
  if (isDatabaseUnavailable(error)) {
    return errorWithInfo(Code.Unavailable, "the database is unavailable; retry later", "DATABASE_UNAVAILABLE");
  }
  if (error instanceof StatementTimeoutError) {
    return errorWithInfo(Code.DeadlineExceeded, "the database did not answer in time", "DATABASE_TIMEOUT");
  }
  return errorWithInfo(Code.Internal, "internal error", "INTERNAL");
}

// connect-es reports a request it cannot decode (bad protobuf bytes, an envelope compressed with
// an unknown or absent codec) as INTERNAL, as if the server were at fault; the caller sent it.
const MALFORMED =
  /^(parse binary|received compressed envelope|invalid envelope|protocol error|unexpected EOF|cannot decode|premature EOF)/i;

function isMalformedRequest(error: ConnectError): boolean {
  return (error.code === Code.Internal || error.code === Code.Unknown) && MALFORMED.test(error.rawMessage);
}

/** INVALID_ARGUMENT (reason MALFORMED_REQUEST) for a request connect-es could not decode. */
export function malformedRequest(error: ConnectError): ConnectError {
  return errorWithInfo(Code.InvalidArgument, `malformed request: ${error.rawMessage}`, "MALFORMED_REQUEST");
}
