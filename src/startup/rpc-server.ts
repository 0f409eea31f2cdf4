import { setMaxListeners } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { authInterceptor, isLoopbackHost } from "../server/auth.js";
import { callInterceptor, type InFlightCalls } from "../server/call-interceptor.js";
import { deadlineAnswer } from "../server/deadline.js";
import type { HealthRegistry } from "../server/health.js";
import { ingestCounter } from "../server/ingest-counter.js";
import { inFlightLimit, streamLengthLimit, streamRateLimit } from "../server/limits.js";
import { listenDualProtocol } from "../server/listener.js";
import { consoleDirectory, withConsole } from "../server/console-endpoint.js";
import { withMetricsEndpoint } from "../server/metrics-endpoint.js";
import type { ServiceMetrics } from "../server/metrics.js";
import { routes } from "../server/routes.js";
import { listenTls, type TlsMaterial } from "../server/tls.js";
import type { TokenTable } from "../server/tokens.js";
import { answerUndecodableRequests, markDecoded } from "../server/undecodable-requests.js";
import type { ServiceDependencies } from "../service/dependencies.js";

/** What the RPC server is built from. */
export interface RpcServerParts {
  config: Config;
  log: Logger;
  /** Bearer tokens, when access control is on. */
  tokens: TokenTable | undefined;
  /** Certificates, when TLS is on. */
  tls: TlsMaterial | undefined;
  dependencies: ServiceDependencies;
  health: HealthRegistry;
  metrics: ServiceMetrics;
  inFlight: InFlightCalls;
}

/** The listening RPC server. */
export interface RpcServer {
  port: number;
  /** Base URL for clients, e.g. http://127.0.0.1:50051. */
  url: string;
  /**
   * Graceful close: health NOT_SERVING (Watch streams get it, then end), other streams end with
   * UNAVAILABLE, in-flight calls finish within the grace period, then connections close.
   */
  close(): Promise<void>;
}

/**
 * Smallest response worth compressing when the client accepts gzip (connect's default is 1 KiB).
 * A PredictAgents answer is 1–4 KiB: gzip cost the server about 5% of its CPU in the predict bench,
 * plus the garbage of zlib's buffers, to save a few KiB on a connection that is local or a LAN.
 * Answers over 32 KiB (long insight pages, dashboards) still go compressed.
 */
const COMPRESS_MIN_BYTES = 32 * 1024;

/** Serves every API on one port (gRPC, gRPC-Web and Connect, with health, reflection and /metrics). */
export async function startRpcServer(parts: RpcServerParts): Promise<RpcServer> {
  const { config, log, tokens, tls, metrics, inFlight, health } = parts;
  const shutdown = new AbortController();
  // connect-node adds one abort listener per call in flight: many is normal load, not a leak.
  setMaxListeners(0, shutdown.signal);
  const serviceRoutes = routes(parts.dependencies, health);
  const handler = connectNodeAdapter({
    routes: (router) => {
      serviceRoutes(router);
      // Calls refused before any interceptor never reach the call interceptor: logged and counted here.
      answerUndecodableRequests(router, ({ method, code, reason, seconds }) => {
        log.info({ method, code, reason, durationMs: Math.round(seconds * 1e6) / 1e3 }, "rpc");
        metrics.callFinished({ method, code, seconds });
      });
    },
    // Outermost first: the call interceptor logs and counts every answer, limits included; the
    // ingest counter sits next to the handler, to see bulk results the stream limit replaces.
    interceptors: [
      markDecoded,
      callInterceptor(log, inFlight, metrics),
      ...(tokens ? [authInterceptor(tokens)] : []),
      inFlightLimit(inFlight, config.maxInFlightCalls),
      deadlineAnswer(inFlight, log),
      streamLengthLimit(config.maxStreamExecutions),
      streamRateLimit(config.maxStreamRate),
      ingestCounter((count) => metrics.executionsStored(count)),
    ],
    readMaxBytes: config.maxMessageBytes,
    compressMinBytes: COMPRESS_MIN_BYTES,
    shutdownSignal: shutdown.signal,
  });
  const served = withConsole(consoleDirectory(), withMetricsEndpoint(metrics.registry, handler));
  const listenerOptions = { maxConcurrentStreams: config.maxConcurrentStreams };
  const listener = tls
    ? await listenTls(config.host, config.port, served, tls, listenerOptions)
    : await listenDualProtocol(config.host, config.port, served, listenerOptions);
  const url = `${tls ? "https" : "http"}://${config.host.includes(":") ? `[${config.host}]` : config.host}:${listener.port}`;
  log.info(
    {
      url,
      embeddedDatabase: !config.databaseUrl,
      tls: tls ? (tls.clientCa ? "mutual" : "server") : "off",
      auth: tokens ? `${tokens.size} tokens` : "off",
    },
    "agent-learning serving gRPC, gRPC-Web and Connect",
  );
  if (tokens && !tls && !isLoopbackHost(config.host)) {
    log.warn("bearer tokens cross the network in cleartext: set TLS_CERT_FILE and TLS_KEY_FILE, or terminate TLS in front of the service");
  }
  return {
    port: listener.port,
    url,
    async close() {
      health.shutdown();
      // Long-lived streams end now with a status clients understand as "retry elsewhere".
      shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
      listener.stopAccepting();
      const deadline = Date.now() + config.shutdownGraceMs;
      const drained = await inFlight.drained(config.shutdownGraceMs);
      // A handler that has returned may still be writing its response: let connections close
      // on their own (HTTP/2 sessions close once their last stream ends) before cutting them.
      const closed = drained && (await withTimeout(listener.closed(), Math.max(250, deadline - Date.now())));
      if (!closed) {
        log.warn({ inFlight: inFlight.size }, "grace period over: cutting remaining connections");
        listener.destroyAll();
        await listener.closed();
      }
    },
  };
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
