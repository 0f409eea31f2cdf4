// Access control: bearer tokens with scopes, checked by one interceptor before any handler runs.
// Health and reflection stay open, because load balancers, probes and tools such as grpcurl
// must reach them without credentials, and they reveal nothing the proto does not.
import { isIP } from "node:net";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, createContextKey, type Interceptor } from "@connectrpc/connect";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { ReportService } from "../../gen/agentlearning/v1/report_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { errorWithInfo } from "../service/errors.js";
import { grants, loadTokens, type Scope, type TokenSources, TokenTable } from "./tokens.js";

/** Services anyone may call. */
const OPEN_SERVICES = new Set([Health.typeName, reflectionV1.ServerReflection.typeName, reflectionV1alpha.ServerReflection.typeName]);

const L = LearningService.method;
const A = AdminService.method;
const R = ReportService.method;

/**
 * The scope each RPC needs, listed explicitly so that adding an RPC is a decision about who may
 * call it (a unit test fails until it is listed; unlisted methods need admin meanwhile).
 */
const METHOD_SCOPES: ReadonlyMap<string, Scope> = new Map(
  (
    [
      [L.recordExecution, "record"],
      [L.recordExecutions, "record"],
      [L.predictAgents, "predict"],
      [L.predictOutcome, "predict"],
      [L.streamInsights, "read"],
      [L.listInsights, "read"],
      [A.getStatus, "read"],
      [A.getDashboard, "read"],
      [A.exportData, "read"],
      // Reads the decision log and computes (about a second at 10^5 decisions); changes nothing.
      [A.evaluatePolicies, "read"],
      [A.analyze, "admin"],
      [A.retrain, "admin"],
      [A.listModels, "admin"],
      [A.activateModel, "admin"],
      [A.getModel, "admin"],
      [A.setLearningMode, "admin"],
      [A.importData, "admin"],
      // Challengers change what PredictAgents serves; GetRollout only reads.
      [A.setChallenger, "admin"],
      [A.clearChallenger, "admin"],
      [A.promoteChallenger, "admin"],
      [A.getRollout, "read"],
      [R.getSuccessOverTime, "read"],
      [R.getTeamReport, "read"],
      [R.getModelReport, "read"],
    ] as const
  ).map(([method, scope]) => [methodKey(method), scope]),
);

function methodKey(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

/** The scope a method needs, or undefined when it is open to everyone (health, reflection). */
export function requiredScope(method: DescMethod): Scope | undefined {
  if (OPEN_SERVICES.has(method.parent.typeName)) return undefined;
  // Fail closed: an RPC nobody has classified yet is for administrators only.
  return METHOD_SCOPES.get(methodKey(method)) ?? "admin";
}

/** Whether the scope table names this method explicitly (for the test that keeps it complete). */
export function hasExplicitScope(method: DescMethod): boolean {
  return METHOD_SCOPES.has(methodKey(method));
}

/**
 * The name of the token that authenticated the call, for whatever runs after the auth
 * interceptor (the call log line); undefined when auth is off or the call is to an open service.
 */
export const PRINCIPAL = createContextKey<string | undefined>(undefined, { description: "name of the authenticating token" });

/**
 * Rejects calls without a valid bearer token (UNAUTHENTICATED) or whose token lacks the RPC's
 * scope (PERMISSION_DENIED, naming the scope), before the handler runs. It sits inside the call
 * interceptor so that rejections are logged and counted like every other answer; it logs
 * nothing itself, and removes the authorization header once read so nothing later can log it.
 */
export function authInterceptor(tokens: TokenTable): Interceptor {
  return (next) => async (req) => {
    const scope = requiredScope(req.method);
    if (scope === undefined) return next(req);
    const secret = bearerToken(req.header.get("authorization"));
    req.header.delete("authorization");
    if (secret === undefined) {
      throw errorWithInfo(
        Code.Unauthenticated,
        "this call needs a bearer token: send the header `authorization: Bearer <token>`",
        "UNAUTHENTICATED",
      );
    }
    const token = tokens.verify(secret);
    if (token === undefined) throw errorWithInfo(Code.Unauthenticated, "the bearer token is not valid", "UNAUTHENTICATED");
    req.contextValues.set(PRINCIPAL, token.name);
    if (!grants(token, scope)) {
      throw errorWithInfo(
        Code.PermissionDenied,
        `token "${token.name}" lacks the "${scope}" scope that ${req.method.parent.name}/${req.method.name} needs`,
        "MISSING_SCOPE",
        { scope },
      );
    }
    return next(req);
  };
}

/** The secret of an `authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750), or undefined. */
export function bearerToken(header: string | null): string | undefined {
  const match = header === null ? null : /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Whether binding `host` exposes the port only to this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (bare === "localhost") return true;
  const version = isIP(bare);
  if (version === 4) return bare.startsWith("127.");
  if (version === 6) {
    // The URL parser writes every spelling of an address one way (0:0:0:0:0:0:0:1 is [::1]).
    const canonical = new URL(`http://[${bare}]`).hostname;
    return canonical === "[::1]" || /^\[::ffff:7f[0-9a-f]{2}:/.test(canonical);
  }
  return false;
}

/**
 * Decides, before anything listens, whether calls must authenticate: with tokens configured,
 * always; without, only a loopback bind may run open (the developer's default), and any other
 * bind is refused, so a service is never exposed to the network without access control by
 * accident. Returns the token table, or undefined when auth is off.
 */
export function resolveAuth(host: string, sources: TokenSources): TokenTable | undefined {
  const entries = loadTokens(sources);
  if (entries.length > 0) return new TokenTable(entries);
  if (isLoopbackHost(host)) return undefined;
  throw new Error(
    `refusing to serve on ${host} without access control: configure bearer tokens in AUTH_TOKENS or ` +
      "AUTH_TOKENS_FILE (see README, Access control), or bind a loopback address (HOST=127.0.0.1)",
  );
}
