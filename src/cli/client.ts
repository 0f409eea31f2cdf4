import { readFileSync } from "node:fs";
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { CliFailure, fileFailure } from "./failure.js";

/** Where the CLI looks for the service when neither --address nor AGENT_LEARNING_ADDRESS says. */
export const DEFAULT_ADDRESS = "http://localhost:50051";

/** The generated clients of both services, sharing one HTTP/2 connection. */
export interface ServiceClients {
  /** The address the clients talk to, as given. */
  address: string;
  /** LearningService: record, predict, insights. */
  learning: Client<typeof LearningService>;
  /** AdminService: status, bulk export and import, models. */
  admin: Client<typeof AdminService>;
  /** Closes the connection so the process can exit as soon as the command is done. */
  close(): void;
}

/** How the CLI proves who it is and whom it trusts (--token, --ca, --cert, --key). */
export interface ClientCredentials {
  /** Bearer token, sent as `authorization: Bearer <token>` on every call. */
  token?: string | undefined;
  /** PEM file of the CA that signed the server's certificate (https:// only; replaces the default roots). */
  ca?: string | undefined;
  /** PEM client certificate for mutual TLS (https:// only; needs `key`). */
  cert?: string | undefined;
  /** PEM private key of `cert`. */
  key?: string | undefined;
}

/**
 * The credentials of the command being run. Commands hand only the address to withClient, so
 * the option parser (a preAction hook in options.ts) deposits the rest here, once per process.
 */
let commandCredentials: ClientCredentials = {};

/** Sets the credentials every later connectClients call uses by default. */
export function useCredentials(credentials: ClientCredentials): void {
  commandCredentials = { ...credentials };
}

/**
 * Connects the CLI to a running service the way any other client would: gRPC over HTTP/2
 * (cleartext h2c for http://, TLS for https://) through the generated clients.
 */
export function connectClients(address: string, credentials: ClientCredentials = commandCredentials): ServiceClients {
  const baseUrl = parseAddress(address);
  // Our own session manager, so `close` can end the connection instead of waiting for it to idle out;
  // it opens the connection, so the TLS options go to it rather than to the transport.
  const sessionManager = new Http2SessionManager(baseUrl, undefined, baseUrl.startsWith("https:") ? tlsOptions(credentials) : {});
  const interceptors = [explainAuthFailure(Boolean(credentials.token)), ...(credentials.token ? [bearer(credentials.token)] : [])];
  const transport = createGrpcTransport({ baseUrl, sessionManager, interceptors });
  return {
    address,
    learning: createClient(LearningService, transport),
    admin: createClient(AdminService, transport),
    close: () => sessionManager.abort(),
  };
}

/** The TLS options of an https:// connection: a private CA and a client certificate, read now. */
function tlsOptions(credentials: ClientCredentials): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if ((credentials.cert === undefined) !== (credentials.key === undefined)) {
    throw new CliFailure("--cert and --key go together (a client certificate needs its private key)");
  }
  return {
    ...(credentials.ca === undefined ? {} : { ca: readPem(credentials.ca) }),
    ...(credentials.cert === undefined ? {} : { cert: readPem(credentials.cert) }),
    ...(credentials.key === undefined ? {} : { key: readPem(credentials.key) }),
  };
}

function readPem(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw fileFailure("read", file, error);
  }
}

/** Adds the bearer token to every call's headers. */
function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

/**
 * Says how to fix an UNAUTHENTICATED answer in the CLI's terms (the server can only name the
 * header). It wraps the token interceptor, so it sees the server's answer, never the secret.
 */
function explainAuthFailure(tokenGiven: boolean): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      if (!(error instanceof ConnectError) || error.code !== Code.Unauthenticated) throw error;
      throw new CliFailure(`UNAUTHENTICATED: ${error.rawMessage}`, [
        tokenGiven
          ? "the server did not accept the token given by --token / AGENT_LEARNING_TOKEN"
          : "this server requires a token: pass --token TOKEN or set AGENT_LEARNING_TOKEN",
      ]);
    }
  };
}

/** Rejects anything but an http(s) URL up front, with a message naming the flag. */
function parseAddress(address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new CliFailure(`invalid --address ${JSON.stringify(address)}: expected a URL such as ${DEFAULT_ADDRESS}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliFailure(`invalid --address ${JSON.stringify(address)}: the scheme must be http or https`);
  }
  return url.href.replace(/\/$/, "");
}
