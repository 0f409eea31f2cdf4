import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as http2 from "node:http2";
import * as https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ConnectionOptions, TLSSocket } from "node:tls";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { type ConfigInput, loadConfig } from "../../src/config.js";
import { type RunningService, startService } from "../../src/main.js";
import { createTestDatabase, dropTestDatabase } from "../support/database.js";
import { requireCli, runCli } from "../support/run-cli.js";

// The compiled CLI, from the run's one build (a whole build may take minutes on a loaded machine).
beforeAll(requireCli, 300_000);

// TLS against the real server: certificates made by openssl for this run, HTTP/2 (gRPC) and
// HTTP/1.1 (Connect) on one port by ALPN, cleartext and untrusted clients refused, mutual TLS,
// graceful shutdown, and the CLI over https.

const OPENSSL = "/usr/bin/openssl";

/** PEM files of the run's CA, a server certificate for 127.0.0.1/localhost, and client certificates. */
interface Pki {
  dir: string;
  ca: Buffer;
  serverCert: string;
  serverKey: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  client: { cert: Buffer; key: Buffer };
  /** A client certificate signed by a CA the server does not know. */
  rogue: { cert: Buffer; key: Buffer };
}

function openssl(dir: string, args: string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: "pipe" });
}

/** A P-256 key and a certificate for `subject`, signed by ca.pem (or self-signed when `ca` is false). */
async function issue(dir: string, name: string, subject: string, extensions: string, ca = true): Promise<void> {
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`];
  if (!ca) {
    openssl(dir, [
      "req",
      "-x509",
      ...key,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      subject,
      "-addext",
      extensions.trim().split("\n")[0] ?? "",
    ]);
    return;
  }
  openssl(dir, ["req", ...key, "-out", `${name}.csr`, "-subj", subject]);
  const serial = String(Math.floor(Math.random() * 1e9));
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-set_serial",
    serial,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
}

async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(path.join(tmpdir(), "agent-learning-tls-"));
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=agent-learning test CA",
  ]);
  await issue(dir, "server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await issue(dir, "client", "/CN=test-orchestrator", "extendedKeyUsage=clientAuth\n");
  await issue(dir, "rogue", "/CN=rogue", "extendedKeyUsage=clientAuth\n", false);
  const read = (file: string) => readFile(path.join(dir, file));
  return {
    dir,
    ca: await read("ca.pem"),
    caFile: path.join(dir, "ca.pem"),
    serverCert: path.join(dir, "server.pem"),
    serverKey: path.join(dir, "server.key"),
    clientCertFile: path.join(dir, "client.pem"),
    clientKeyFile: path.join(dir, "client.key"),
    client: { cert: await read("client.pem"), key: await read("client.key") },
    rogue: { cert: await read("rogue.pem"), key: await read("rogue.key") },
  };
}

/** The code a call ended with, "OK" for success. */
async function outcome(call: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

/** GetStatus over gRPC (HTTP/2) with the given TLS client options. */
function grpcStatus(baseUrl: string, nodeOptions: http2.SecureClientSessionOptions = {}): Promise<unknown> {
  const admin = createClient(AdminService, createGrpcTransport({ baseUrl, nodeOptions }));
  return admin.getStatus({}, { timeoutMs: 5_000 });
}

interface Http1Reply {
  status: number;
  alpn: string | false | null;
  body: string;
}

/** GetStatus as Connect JSON over HTTP/1.1 through node:https. */
function connectStatus(baseUrl: string, options: https.RequestOptions): Promise<Http1Reply> {
  // Offer only http/1.1 by ALPN (node:https passes TLS options through; its types omit this one).
  const request: https.RequestOptions & Pick<ConnectionOptions, "ALPNProtocols"> = {
    method: "POST",
    headers: { "content-type": "application/json" },
    ALPNProtocols: ["http/1.1"],
    timeout: 5_000,
    ...options,
  };
  return new Promise((resolve, reject) => {
    const req = https.request(`${baseUrl}/agentlearning.v1.AdminService/GetStatus`, request, (res) => {
      // Read now: a keep-alive agent takes the socket back once the response has ended.
      const alpn = (res.socket as TLSSocket).alpnProtocol;
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, alpn, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end("{}");
  });
}

/** The CLI as users run it, without the caller's address, CA or token settings. */
function runTlsCli(args: string[]) {
  return runCli(args, { AGENT_LEARNING_ADDRESS: undefined, AGENT_LEARNING_CA: undefined, AGENT_LEARNING_TOKEN: undefined });
}

describe("TLS", () => {
  let pki: Pki;
  let databaseUrl = "";
  let tlsService: RunningService | undefined;
  let mtlsService: RunningService | undefined;

  const config = (overrides: ConfigInput) => loadConfig({}, { port: 0, host: "127.0.0.1", databaseUrl, logLevel: "silent", ...overrides });

  beforeAll(async () => {
    pki = await makePki();
    databaseUrl = await createTestDatabase();
    tlsService = await startService(config({ tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey, heartbeatMs: 60_000 }));
    mtlsService = await startService(config({ tlsCertFile: pki.serverCert, tlsKeyFile: pki.serverKey, tlsClientCaFile: pki.caFile }));
  }, 120_000);

  afterAll(async () => {
    await tlsService?.stop();
    await mtlsService?.stop();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
    if (pki) await rm(pki.dir, { recursive: true, force: true });
  });

  const tlsUrl = () => tlsService?.url ?? "";
  const mtlsUrl = () => mtlsService?.url ?? "";

  describe("with a server certificate", () => {
    it("announces an https:// URL", () => {
      expect(tlsUrl()).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    });

    it("serves gRPC over HTTP/2 to a client that trusts the CA", async () => {
      expect(await outcome(grpcStatus(tlsUrl(), { ca: pki.ca }))).toBe("OK");
    });

    it("negotiates h2 by ALPN", async () => {
      const session = http2.connect(tlsUrl(), { ca: pki.ca });
      try {
        await once(session, "connect");
        expect(session.alpnProtocol).toBe("h2");
      } finally {
        session.close();
      }
    });

    it("serves Connect over HTTP/1.1 on the same port", async () => {
      const reply = await connectStatus(tlsUrl(), { ca: pki.ca, agent: false });
      expect(reply.alpn).toBe("http/1.1");
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({ databaseReady: true });
    });

    it("is refused by a client that does not trust the CA", async () => {
      await expect(grpcStatus(tlsUrl())).rejects.toThrow(/certificate/);
      await expect(connectStatus(tlsUrl(), { agent: false })).rejects.toThrow(/certificate/);
    });

    it("does not answer cleartext clients", async () => {
      const plain = tlsUrl().replace(/^https:/, "http:");
      expect(await outcome(grpcStatus(plain))).not.toBe("OK");
      await expect(
        fetch(`${plain}/agentlearning.v1.AdminService/GetStatus`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        }),
      ).rejects.toThrow();
    });
  });

  describe("with a client CA (mutual TLS)", () => {
    it("refuses a client without a certificate", async () => {
      expect(await outcome(grpcStatus(mtlsUrl(), { ca: pki.ca }))).not.toBe("OK");
      await expect(connectStatus(mtlsUrl(), { ca: pki.ca, agent: false })).rejects.toThrow();
    });

    it("refuses a client certificate from another CA", async () => {
      expect(await outcome(grpcStatus(mtlsUrl(), { ca: pki.ca, ...pki.rogue }))).not.toBe("OK");
    });

    it("serves a client with a certificate from the CA, over HTTP/2 and HTTP/1.1", async () => {
      expect(await outcome(grpcStatus(mtlsUrl(), { ca: pki.ca, ...pki.client }))).toBe("OK");
      const reply = await connectStatus(mtlsUrl(), { ca: pki.ca, ...pki.client, agent: false });
      expect(reply.status).toBe(200);
    });
  });

  describe("configuration", () => {
    it("refuses a certificate without its key", async () => {
      await expect(startService(config({ tlsCertFile: pki.serverCert }))).rejects.toThrow("TLS needs both TLS_CERT_FILE and TLS_KEY_FILE");
    });

    it("refuses a client CA without a server certificate", async () => {
      await expect(startService(config({ tlsClientCaFile: pki.caFile }))).rejects.toThrow(/TLS_CLIENT_CA_FILE needs TLS_CERT_FILE/);
    });

    it("names the variable and file it cannot read", async () => {
      const missing = path.join(pki.dir, "absent.pem");
      await expect(startService(config({ tlsCertFile: missing, tlsKeyFile: pki.serverKey }))).rejects.toThrow(
        `TLS_CERT_FILE: cannot read ${missing} (ENOENT)`,
      );
    });
  });

  describe("the CLI over https", () => {
    it("runs `status --ca FILE`", async () => {
      const run = await runTlsCli(["status", "--address", tlsUrl(), "--ca", pki.caFile]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`at ${tlsUrl()}`);
    });

    it("runs against mutual TLS with --cert and --key", async () => {
      const run = await runTlsCli([
        "status",
        "--address",
        mtlsUrl(),
        "--ca",
        pki.caFile,
        "--cert",
        pki.clientCertFile,
        "--key",
        pki.clientKeyFile,
      ]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
    });

    it("fails when it does not trust the server's certificate", async () => {
      const run = await runTlsCli(["status", "--address", tlsUrl()]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: /);
    });

    it("says --cert needs --key", async () => {
      const run = await runTlsCli(["status", "--address", mtlsUrl(), "--ca", pki.caFile, "--cert", pki.clientCertFile]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("--cert and --key go together");
    });
  });

  describe("graceful shutdown", () => {
    // Last: it stops the server the tests above share.
    it("ends open streams with UNAVAILABLE and closes idle HTTP/2 and HTTP/1.1 connections without waiting out the grace period", async () => {
      const service = tlsService;
      if (!service) throw new Error("no server");
      // An idle HTTP/1.1 keep-alive connection...
      const agent = new https.Agent({ keepAlive: true, ca: pki.ca });
      expect((await connectStatus(service.url, { agent })).status).toBe(200);
      // ...an HTTP/2 session with a live stream...
      const learning = createClient(LearningService, createGrpcTransport({ baseUrl: service.url, nodeOptions: { ca: pki.ca } }));
      const stream = learning.streamInsights({});
      const ended = (async () => {
        try {
          for await (const _ of stream);
          return "OK" as const;
        } catch (error) {
          return ConnectError.from(error).code;
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      await service.stop();
      // The grace period is 10 s by default; nothing here should have to wait for it.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await ended).toBe(Code.Unavailable);
      agent.destroy();
    });
  });
});
