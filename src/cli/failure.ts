import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";

/**
 * A failure the CLI has put into words: printed as `error: <message>` followed by its detail
 * lines, and the process exits 1. Commands throw it; main prints it.
 */
export class CliFailure extends Error {
  override readonly name = "CliFailure";

  constructor(
    message: string,
    /** Further lines, e.g. one per field violation. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }

  /** The lines to print on stderr. */
  lines(): string[] {
    return [`error: ${this.message}`, ...this.details.map((detail) => `  ${detail}`)];
  }
}

/** Node error codes meaning nothing answered at the address (as opposed to the server saying UNAVAILABLE). */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);

/**
 * Puts any error ending a client command into words, so every command reports RPC errors, field
 * violations and an absent server the same way.
 */
export function describeFailure(error: unknown, address: string): CliFailure {
  if (error instanceof CliFailure) return error;
  // A failure of our own request stream (e.g. reading the input) comes back wrapped by the client.
  if (error instanceof ConnectError && error.cause instanceof CliFailure) return error.cause;
  if (error instanceof ConnectError) {
    if (error.code === Code.Unavailable && isUnreachable(error)) {
      return new CliFailure(`cannot reach agent-learning at ${address}: is it running?`);
    }
    const violations = error
      .findDetails(BadRequestSchema)
      .flatMap((detail) => detail.fieldViolations.map((v) => `${v.field}: ${v.description}`));
    return new CliFailure(`${codeName(error.code)}: ${error.rawMessage}`, violations);
  }
  return new CliFailure(error instanceof Error ? error.message : String(error));
}

/**
 * The reason of a file-system error without Node's "ENOENT: ..., open '<path>'" wrapping, so the
 * CLI can name the path the user gave (not a temporary one) in its own words.
 */
export function fileFailure(action: "read" | "write", file: string, error: unknown): CliFailure {
  const reason = error instanceof Error ? error.message.replace(/^[A-Z0-9_]+: /, "").replace(/, \w+ '.*'$/, "") : String(error);
  return new CliFailure(`cannot ${action} ${file}: ${reason}`);
}

/** The canonical gRPC name of a code, e.g. INVALID_ARGUMENT, as the API documents them. */
export function codeName(code: Code): string {
  return codeToString(code).toUpperCase();
}

/** Whether the error chain holds a socket-level failure to connect. */
function isUnreachable(error: Error): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE_CODES.has(code)) return true;
    e = e.cause;
  }
  return false;
}
