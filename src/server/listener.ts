import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";

/** The HTTP/2 connection preface starts with these bytes; no HTTP/1.x request line does. */
const H2_PREFACE_START = Buffer.from("PRI ");

/** How long a stream whose answer is complete may keep its request side open before a reset. */
const HALF_OPEN_LINGER_MS = 1_000;

/** What both servers call for each request: the connect handler, behind any plain-HTTP routes. */
export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of the listener. */
export interface ListenerOptions {
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS announced to every HTTP/2 client: calls one connection may
   * have open at once. Clients queue calls beyond it (connect-node and grpc-js do), so one
   * connection cannot monopolise the replica; absent, Node's default (unbounded) applies.
   */
  maxConcurrentStreams?: number;
}

/** A port that serves cleartext HTTP/2 (gRPC, gRPC-Web, Connect) and HTTP/1.1 (Connect, gRPC-Web). */
export interface DualProtocolListener {
  /** The bound port (useful when 0 was asked for). */
  port: number;
  /** Stops accepting connections and asks HTTP/2 clients to go away (GOAWAY); in-flight calls go on. */
  stopAccepting(): void;
  /** Destroys every remaining connection. */
  destroyAll(): void;
  /** Resolves once every connection has closed. */
  closed(): Promise<void>;
}

/**
 * Resets, shortly after its answer is complete, every stream whose client has not ended its side.
 * A call answered before its request was read to the end (a message over MAX_MESSAGE_BYTES, a
 * bulk stream cut at MAX_STREAM_EXECUTIONS) stays half-open with connect-node clients: they stop
 * writing but never end or reset their side. Each such stream keeps a maxConcurrentStreams slot
 * of its connection (measured: with the limit at 2, the third oversize call broke the connection
 * with ENHANCE_YOUR_CALM) and stops the session closing at shutdown. RFC 9113 §8.1 lets the
 * server reset it with NO_ERROR once its answer is complete; resetting at once made those clients
 * lose the answer ("Premature close"), so the reset waits a moment. For every HTTP/2 server we run
 * (cleartext here, TLS in tls.ts).
 */
export function releaseHalfOpenStreams(server: http2.Http2Server | http2.Http2SecureServer): void {
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    stream.once("finish", () => {
      const timer = setTimeout(() => {
        if (stream.destroyed) return;
        // close() sends the reset; destroy() releases the stream, whose unread request data
        // would otherwise hold it (and its session) open.
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
        stream.destroy();
      }, HALF_OPEN_LINGER_MS);
      timer.unref();
      stream.once("close", () => clearTimeout(timer));
    });
  });
}

/**
 * Serves h2c and HTTP/1.1 on one port. Node's `allowHTTP1` only works with TLS (it relies on
 * ALPN), so in cleartext we peek at the first bytes of each connection and hand the socket to the
 * HTTP/2 or the HTTP/1.1 server, both running the same handler.
 */
export async function listenDualProtocol(
  host: string,
  port: number,
  handler: RequestHandler,
  options: ListenerOptions = {},
): Promise<DualProtocolListener> {
  const h2 = http2.createServer(
    options.maxConcurrentStreams === undefined ? {} : { settings: { maxConcurrentStreams: options.maxConcurrentStreams } },
    handler,
  );
  const h1 = http.createServer(handler);
  // Connect unary over HTTP/1.1 keeps connections alive between calls; bound the idle time.
  h1.keepAliveTimeout = 5_000;
  const sessions = new Set<http2.Http2Session>();
  const sockets = new Set<net.Socket>();
  // Node only tracks an http.Server's connections when that server listens itself, so
  // closeIdleConnections() cannot see sockets handed over by emit("connection"): track HTTP/1.1
  // requests in progress per socket ourselves, to close idle keep-alive sockets at shutdown.
  const h1Connections = new Http1Connections();
  h1.on("connection", (socket: net.Socket) => h1Connections.add(socket));
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => h1Connections.request(req.socket, res));
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  releaseHalfOpenStreams(h2);

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < H2_PREFACE_START.length && H2_PREFACE_START.subarray(0, head.length).equals(head)) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      if (head.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START)) {
        // The HTTP/2 session drains the unshifted bytes itself; resuming here would hand them
        // to a 'data' event nobody reads and break the session.
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });

  return bindListener(server, host, port, { sessions, sockets, h1Connections });
}

/**
 * HTTP/1.1 requests in progress per socket, so that shutdown can end idle keep-alive sockets and
 * stop keeping busy ones alive: Node tracks this only for an http.Server that listens itself,
 * which neither listener's HTTP/1.1 side does.
 */
export class Http1Connections {
  readonly #active = new Map<net.Socket, number>();
  #stopping = false;

  /** A new HTTP/1.1 connection. */
  add(socket: net.Socket): void {
    this.#active.set(socket, 0);
    socket.once("close", () => this.#active.delete(socket));
  }

  /** A request on `socket`; once shutdown began, its socket closes after the response. */
  request(socket: net.Socket, res: http.ServerResponse): void {
    this.#active.set(socket, (this.#active.get(socket) ?? 0) + 1);
    if (this.#stopping) res.shouldKeepAlive = false;
    res.once("close", () => {
      const left = (this.#active.get(socket) ?? 1) - 1;
      this.#active.set(socket, left);
      if (this.#stopping && left === 0) socket.end();
    });
  }

  /** Shutdown began: end idle sockets now, busy ones after their response. */
  stop(): void {
    this.#stopping = true;
    this.closeIdle();
  }

  /** Ends the sockets with no request in progress. */
  closeIdle(): void {
    for (const [socket, active] of this.#active) if (active === 0) socket.end();
  }
}

/** What a listener variant hands to bindListener. */
export interface ListenerParts {
  sessions: Set<http2.Http2Session>;
  sockets: Set<net.Socket>;
  h1Connections: Http1Connections;
}

/**
 * Listens on host:port and returns the shutdown controls shared by the cleartext and the TLS
 * listener: stop accepting (GOAWAY to HTTP/2 clients, idle HTTP/1.1 sockets ended), cut, and wait.
 */
export async function bindListener(server: net.Server, host: string, port: number, parts: ListenerParts): Promise<DualProtocolListener> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("listener has no TCP address");
  let stopping = false;
  return {
    port: address.port,
    stopAccepting() {
      stopping = true;
      server.close();
      for (const session of parts.sessions) session.close();
      parts.h1Connections.stop();
    },
    destroyAll() {
      for (const session of parts.sessions) session.destroy();
      for (const socket of parts.sockets) socket.destroy();
    },
    async closed() {
      while (parts.sockets.size > 0) {
        await new Promise((r) => setTimeout(r, 20));
        if (stopping) parts.h1Connections.closeIdle();
      }
    },
  };
}
