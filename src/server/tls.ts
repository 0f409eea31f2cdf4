// The TLS variant of the listener: one port serving HTTP/2 (gRPC, gRPC-Web, Connect) and
// HTTP/1.1 (Connect, gRPC-Web), chosen per connection by ALPN, with optional client certificates.
import { readFileSync } from "node:fs";
import type * as http from "node:http";
import * as http2 from "node:http2";
import type * as net from "node:net";
import type * as tls from "node:tls";
import {
  bindListener,
  type DualProtocolListener,
  Http1Connections,
  type ListenerOptions,
  releaseHalfOpenStreams,
  type RequestHandler,
} from "./listener.js";

/** Certificate material read at start, so a missing or unreadable file stops the server before it listens. */
export interface TlsMaterial {
  /** PEM certificate chain of the server. */
  cert: Buffer;
  /** PEM private key of the server. */
  key: Buffer;
  /** PEM CA bundle that client certificates must chain to; set means mutual TLS is required. */
  clientCa?: Buffer;
}

/** The TLS settings of the configuration (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE). */
export interface TlsFiles {
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
  tlsClientCaFile?: string | undefined;
}

/**
 * Reads the configured certificate files; undefined when TLS is not configured. A certificate
 * without its key (or the reverse), or a client CA without a server certificate, is a
 * configuration error rather than a silent fallback to cleartext.
 */
export function loadTls(files: TlsFiles): TlsMaterial | undefined {
  const { tlsCertFile, tlsKeyFile, tlsClientCaFile } = files;
  if (!tlsCertFile && !tlsKeyFile) {
    if (tlsClientCaFile)
      throw new Error("TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE (client certificates only exist under TLS)");
    return undefined;
  }
  if (!tlsCertFile || !tlsKeyFile) throw new Error("TLS needs both TLS_CERT_FILE and TLS_KEY_FILE");
  const material: TlsMaterial = { cert: readPem("TLS_CERT_FILE", tlsCertFile), key: readPem("TLS_KEY_FILE", tlsKeyFile) };
  if (tlsClientCaFile) material.clientCa = readPem("TLS_CLIENT_CA_FILE", tlsClientCaFile);
  return material;
}

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const reason = (error as { code?: unknown }).code ?? (error instanceof Error ? error.message : String(error));
    throw new Error(`${variable}: cannot read ${file} (${String(reason)})`);
  }
}

/**
 * Serves HTTP/2 and HTTP/1.1 over TLS on one port, with the same shutdown behaviour as the
 * cleartext listener: stopAccepting closes the port, sends GOAWAY to HTTP/2 sessions and ends idle
 * HTTP/1.1 keep-alive connections while in-flight calls finish; destroyAll cuts what is left.
 * With a client CA, a client must present a certificate that chains to it or the handshake fails.
 */
export async function listenTls(
  host: string,
  port: number,
  handler: RequestHandler,
  material: TlsMaterial,
  options: ListenerOptions = {},
): Promise<DualProtocolListener> {
  let server: http2.Http2SecureServer;
  try {
    server = http2.createSecureServer(
      {
        // Node negotiates h2 or http/1.1 by ALPN; without allowHTTP1 Connect's curl users would be refused.
        allowHTTP1: true,
        cert: material.cert,
        key: material.key,
        ...(material.clientCa ? { ca: material.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        ...(options.maxConcurrentStreams === undefined ? {} : { settings: { maxConcurrentStreams: options.maxConcurrentStreams } }),
      },
      handler,
    );
  } catch (error) {
    // A key that does not match the certificate, or PEM that does not parse, ends up here.
    throw new Error(`TLS_CERT_FILE / TLS_KEY_FILE: ${error instanceof Error ? error.message : String(error)}`);
  }
  // HTTP/1.1 over allowHTTP1 runs Node's http connection code, which reads this server property;
  // unset, an idle keep-alive connection would stay open until the client drops it.
  Object.assign(server, { keepAliveTimeout: 5_000 });
  releaseHalfOpenStreams(server);

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  // The secure HTTP/2 server has no closeIdleConnections of its own for its HTTP/1.1 side.
  const h1Connections = new Http1Connections();

  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    if (socket.alpnProtocol === "h2") return;
    h1Connections.add(socket);
  });
  server.on("session", (session: http2.Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("request", (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    if (req.httpVersionMajor !== 1) return;
    h1Connections.request(req.socket as tls.TLSSocket, res as http.ServerResponse);
  });

  return bindListener(server, host, port, { sessions, sockets, h1Connections });
}
