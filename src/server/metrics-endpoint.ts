import type * as http from "node:http";
import type { Registry } from "prom-client";
import type { RequestHandler } from "./listener.js";

/** Where Prometheus scrapes, by convention. */
export const METRICS_PATH = "/metrics";

/**
 * Serves `GET /metrics` (Prometheus text format) on the API port, over HTTP/1.1 and h2 alike, and
 * hands every other request to `next` (the connect handler). It sits in front of connect rather
 * than being an RPC because scrapers speak plain HTTP; it therefore passes no interceptor: no
 * auth, no call log, no in-flight count. The figures are operational (no payloads, no ids), and
 * the port is bound to loopback unless HOST says otherwise; expose it only where scrapers live.
 */
export function withMetricsEndpoint(registry: Registry, next: RequestHandler): RequestHandler {
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0];
    if (path !== METRICS_PATH || (req.method !== "GET" && req.method !== "HEAD")) {
      next(req, res);
      return;
    }
    // Both response classes share this surface; TypeScript cannot call the union's overloads.
    const out = res as http.ServerResponse;
    registry.metrics().then(
      (body) => {
        out.statusCode = 200;
        out.setHeader("content-type", registry.contentType);
        out.setHeader("cache-control", "no-store");
        out.end(req.method === "HEAD" ? undefined : body);
      },
      () => {
        // A collect callback failed (e.g. the pool is gone at shutdown): say so, keep serving.
        out.statusCode = 500;
        out.setHeader("content-type", "text/plain; charset=utf-8");
        out.end("metrics collection failed\n");
      },
    );
  };
}
