// The console's clients: the service's own RPCs over the Connect protocol, on the origin that
// served the page. A token, when the server asks for one, is kept for this tab only
// (sessionStorage) and sent as a bearer header, never in a URL.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { ReportService } from "../../gen/agentlearning/v1/report_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";

const TOKEN_KEY = "agent-learning-token";

/** The token this tab uses, if one was entered. */
export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Remembers (or with null, forgets) the token for this tab. */
export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

const bearer: Interceptor = (next) => (req) => {
  const token = currentToken();
  if (token) req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};

const transport = createConnectTransport({ baseUrl: location.origin, useBinaryFormat: true, interceptors: [bearer] });

/** Every client the pages use. */
export interface Api {
  learning: Client<typeof LearningService>;
  admin: Client<typeof AdminService>;
  reports: Client<typeof ReportService>;
  health: Client<typeof Health>;
}

/** The clients, sharing one transport. */
export const api: Api = {
  learning: createClient(LearningService, transport),
  admin: createClient(AdminService, transport),
  reports: createClient(ReportService, transport),
  health: createClient(Health, transport),
};

/** Whether an error means "send (another) token". */
export function needsToken(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.Unauthenticated;
}

/** A sentence for people about a failed call. */
export function describeError(error: unknown): string {
  if (error instanceof ConnectError) {
    if (error.code === Code.PermissionDenied) return `Not allowed with this token: ${error.rawMessage}`;
    return `${Code[error.code]}: ${error.rawMessage}`;
  }
  return error instanceof Error ? error.message : String(error);
}
