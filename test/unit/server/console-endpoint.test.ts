import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { withConsole } from "../../../src/server/console-endpoint.js";

// The console's routes in front of the API handler, over a real HTTP/1.1 socket: the bundled
// files with their types and security headers, everything else passed on untouched.

let dir: string;
const servers: http.Server[] = [];

/** Serves withConsole(files in `root`) with a stand-in API handler that answers 299 "api". */
async function serve(root: string | undefined): Promise<string> {
  const server = http.createServer(
    withConsole(root, (_req, res) => {
      (res as http.ServerResponse).writeHead(299).end("api");
    }),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "console-assets-"));
  await writeFile(path.join(dir, "index.html"), "<!doctype html><title>console</title>");
  await writeFile(path.join(dir, "app.js"), "console.log(1)");
  await writeFile(path.join(dir, "app.css"), "body{}");
});

afterAll(async () => {
  for (const server of servers) server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("withConsole", () => {
  test("serves the page at / with a same-origin-only content security policy", async () => {
    const base = await serve(`${dir}/`);
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(response.headers.get("content-security-policy")).toContain("connect-src 'self'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await response.text()).toBe("<!doctype html><title>console</title>");
  });

  test("serves the bundle with its types, and HEAD without a body", async () => {
    const base = await serve(`${dir}/`);
    const script = await fetch(`${base}/console/app.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toBe("console.log(1)");
    const head = await fetch(`${base}/console/app.css`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("6");
    expect(await head.text()).toBe("");
  });

  test("answers 404 for any other file under /console/, reading nothing from the disk", async () => {
    const base = await serve(`${dir}/`);
    for (const url of ["/console/index.html", "/console/app.js/", "/console/"]) {
      expect((await fetch(`${base}${url}`)).status).toBe(404);
    }
    // fetch would normalise dot segments (and %2e%2e) away; send them as written.
    for (const raw of ["/console/../../package.json", "/console/%2e%2e/%2e%2e/package.json"]) {
      const status = await new Promise<number | undefined>((resolve, reject) => {
        http
          .get(base, { path: raw }, (res) => {
            res.resume();
            resolve(res.statusCode);
          })
          .on("error", reject);
      });
      expect(status).toBe(404);
    }
  });

  test("passes RPCs, /metrics and non-GET requests to the next handler", async () => {
    const base = await serve(`${dir}/`);
    for (const [url, method] of [
      ["/agentlearning.v1.AdminService/GetStatus", "POST"],
      ["/metrics", "GET"],
      ["/", "POST"],
    ] as const) {
      const response = await fetch(`${base}${url}`, { method });
      expect(response.status).toBe(299);
      expect(await response.text()).toBe("api");
    }
  });

  test("says how to build the console when it was not built", async () => {
    const base = await serve(undefined);
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("npm run build");
  });
});
