import { existsSync, readFileSync } from "node:fs";
import type * as http from "node:http";
import { fileURLToPath } from "node:url";
import type { RequestHandler } from "./listener.js";

/** A file the console serves, read once at start. */
interface Asset {
  body: Buffer;
  type: string;
}

/** The console's files (bundled by `npm run build`) and the paths they are served under. */
const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/console/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/console/app.js.map": { file: "app.js.map", type: "application/json" },
  "/console/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "/console/app.css.map": { file: "app.css.map", type: "application/json" },
  "/console/app.js.LEGAL.txt": { file: "app.js.LEGAL.txt", type: "text/plain; charset=utf-8" },
};

/**
 * Everything the page may load comes from this origin: its own script and style sheet, and the
 * API calls it makes; nothing inline, no framing.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Where `npm run build` puts the bundle: dist/console, found from this module whether it runs
 * compiled (dist/src/server) or from source (src/server, under the tests).
 */
export function consoleDirectory(): string | undefined {
  for (const candidate of ["../../console/", "../../dist/console/"]) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

function loadAssets(dir: string | undefined): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (dir === undefined) return assets;
  for (const [route, { file, type }] of Object.entries(FILES)) {
    if (existsSync(dir + file)) assets.set(route, { body: readFileSync(dir + file), type });
  }
  return assets;
}

/**
 * Serves the web console, `GET /` and its bundled assets, on the API port, and hands every other
 * request to `next`. Like /metrics it passes no interceptor: the files are public (they hold no
 * data), and the page asks for a token itself when the API requires one, sending it on its own
 * API calls. Files are read once at start, so a request never touches the disk.
 */
export function withConsole(dir: string | undefined, next: RequestHandler): RequestHandler {
  const assets = loadAssets(dir);
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0] ?? "";
    const isRead = req.method === "GET" || req.method === "HEAD";
    if (!isRead || !(path === "/" || path.startsWith("/console/"))) {
      next(req, res);
      return;
    }
    // Both response classes share this surface; TypeScript cannot call the union's overloads.
    const out = res as http.ServerResponse;
    const asset = assets.get(path);
    if (!asset) {
      out.statusCode = path === "/" ? 503 : 404;
      out.setHeader("content-type", "text/plain; charset=utf-8");
      out.end(path === "/" ? "the web console is not built: run `npm run build`\n" : "not found\n");
      return;
    }
    out.statusCode = 200;
    out.setHeader("content-type", asset.type);
    out.setHeader("content-length", asset.body.length);
    out.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
    out.setHeader("x-content-type-options", "nosniff");
    out.setHeader("referrer-policy", "no-referrer");
    // The page is small and changes with each build: revalidate rather than serve a stale bundle.
    out.setHeader("cache-control", "no-cache");
    out.end(req.method === "HEAD" ? undefined : asset.body);
  };
}
