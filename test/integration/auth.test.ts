import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { Writable } from "node:stream";
import { create, type DescMethod } from "@bufbuild/protobuf";
import { type CallOptions, type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { type ConfigInput, loadConfig } from "../../src/config.js";
import { type RunningService, startService } from "../../src/main.js";
import { hashToken, type Scope, SCOPES } from "../../src/server/tokens.js";
import { requireBuild } from "../support/build-once.js";
import { runCli } from "../support/run-cli.js";
import { createTestDatabase, dropTestDatabase } from "../support/database.js";

// Access control against the real server: every RPC, every way of failing to be allowed, the
// open services, the log, the start-up refusal, and the CLI as users run it.

/** One random secret per scope (and one nobody configured), so a leak into the log is unmistakable. */
const SECRETS = Object.fromEntries(SCOPES.map((scope) => [scope, `${scope}-${randomBytes(18).toString("base64url")}`])) as Record<
  Scope,
  string
>;
const UNKNOWN_SECRET = `unknown-${randomBytes(18).toString("base64url")}`;
const AUTH_TOKENS = SCOPES.map((scope) => `${scope}-client:${hashToken(SECRETS[scope]).toString("hex")}:${scope}`).join(";");

interface Clients {
  learning: Client<typeof LearningService>;
  admin: Client<typeof AdminService>;
}

/** One RPC, the scope it needs, and a cheap way to call it (an empty request is enough to get past auth). */
interface Rpc {
  method: DescMethod;
  scope: Scope;
  call(clients: Clients, options: CallOptions): Promise<unknown>;
}

async function* nothing(): AsyncGenerator<never> {}

/** Reads the first message of a server stream (or its end) and hangs up. */
async function first(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) return;
}

const L = LearningService.method;
const A = AdminService.method;
const RPCS: Rpc[] = [
  { method: L.recordExecution, scope: "record", call: (c, o) => c.learning.recordExecution({}, o) },
  { method: L.recordExecutions, scope: "record", call: (c, o) => c.learning.recordExecutions(nothing(), o) },
  { method: L.predictAgents, scope: "predict", call: (c, o) => c.learning.predictAgents({}, o) },
  { method: L.predictOutcome, scope: "predict", call: (c, o) => c.learning.predictOutcome({}, o) },
  { method: L.streamInsights, scope: "read", call: (c, o) => first(c.learning.streamInsights({}, o)) },
  { method: L.listInsights, scope: "read", call: (c, o) => c.learning.listInsights({}, o) },
  { method: A.getStatus, scope: "read", call: (c, o) => c.admin.getStatus({}, o) },
  { method: A.getDashboard, scope: "read", call: (c, o) => c.admin.getDashboard({}, o) },
  { method: A.exportData, scope: "read", call: (c, o) => first(c.admin.exportData({}, o)) },
  { method: A.evaluatePolicies, scope: "read", call: (c, o) => c.admin.evaluatePolicies({}, o) },
  { method: A.analyze, scope: "admin", call: (c, o) => c.admin.analyze({}, o) },
  { method: A.retrain, scope: "admin", call: (c, o) => c.admin.retrain({}, o) },
  { method: A.listModels, scope: "admin", call: (c, o) => c.admin.listModels({}, o) },
  { method: A.activateModel, scope: "admin", call: (c, o) => c.admin.activateModel({}, o) },
  { method: A.getModel, scope: "admin", call: (c, o) => c.admin.getModel({}, o) },
  // Empty: changes neither the mode nor learning_enabled.
  { method: A.setLearningMode, scope: "admin", call: (c, o) => c.admin.setLearningMode({}, o) },
  { method: A.importData, scope: "admin", call: (c, o) => c.admin.importData(nothing(), o) },
  { method: A.getRollout, scope: "read", call: (c, o) => c.admin.getRollout({}, o) },
  // Empty: no version, so nothing is set; no rollout under way, so nothing is cleared or promoted.
  { method: A.setChallenger, scope: "admin", call: (c, o) => c.admin.setChallenger({}, o) },
  { method: A.clearChallenger, scope: "admin", call: (c, o) => c.admin.clearChallenger({}, o) },
  { method: A.promoteChallenger, scope: "admin", call: (c, o) => c.admin.promoteChallenger({}, o) },
];

const nameOf = (method: DescMethod) => `${method.parent.name}/${method.name}`;
const bearer = (secret: string): CallOptions => ({ headers: { authorization: `Bearer ${secret}` } });

/** The code a call ended with, "OK" for success. */
async function outcome(call: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

/** A logger writing JSON lines into memory, to read what the server logged. */
function memoryLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { log: pino({ level: "trace" }, stream), text: () => lines.join("") };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("access control", () => {
  let databaseUrl = "";
  let service: RunningService | undefined;
  let clients: Clients;
  const logged = memoryLogger();

  const config = (overrides: ConfigInput): ReturnType<typeof loadConfig> =>
    loadConfig({}, { port: 0, host: "127.0.0.1", databaseUrl, heartbeatMs: 200, ...overrides });

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    service = await startService(config({ authTokens: AUTH_TOKENS }), logged.log);
    const transport = createGrpcTransport({ baseUrl: service.url });
    clients = { learning: createClient(LearningService, transport), admin: createClient(AdminService, transport) };
  });

  afterAll(async () => {
    await service?.stop();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it("lists every RPC of both services in this table", () => {
    const listed = RPCS.map((rpc) => nameOf(rpc.method)).sort();
    const all = [...LearningService.methods, ...AdminService.methods].map(nameOf).sort();
    expect(listed).toEqual(all);
  });

  describe.each(RPCS.map((rpc) => [nameOf(rpc.method), rpc] as const))("%s", (_name, rpc) => {
    const otherScope: Scope = rpc.scope === "read" ? "record" : "read";

    it("is UNAUTHENTICATED without a token", async () => {
      const error = await failure(rpc.call(clients, {}));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UNAUTHENTICATED");
    });

    it("is UNAUTHENTICATED with a token the server does not know", async () => {
      const error = await failure(rpc.call(clients, bearer(UNKNOWN_SECRET)));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UNAUTHENTICATED");
    });

    it(`is PERMISSION_DENIED, naming the scope, with a token of another scope`, async () => {
      const error = await failure(rpc.call(clients, bearer(SECRETS[otherScope])));
      expect(error.code).toBe(Code.PermissionDenied);
      expect(error.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "MISSING_SCOPE", metadata: { scope: rpc.scope } });
    });

    it(`passes auth with a token of its scope (${rpc.scope})`, async () => {
      const code = await outcome(rpc.call(clients, bearer(SECRETS[rpc.scope])));
      expect(code).not.toBe(Code.Unauthenticated);
      expect(code).not.toBe(Code.PermissionDenied);
    });

    it("passes auth with an admin token", async () => {
      const code = await outcome(rpc.call(clients, bearer(SECRETS.admin)));
      expect(code).not.toBe(Code.Unauthenticated);
      expect(code).not.toBe(Code.PermissionDenied);
    });
  });

  it("passes auth with a token of its scope for real: GetStatus answers, RecordExecution validates", async () => {
    expect((await clients.admin.getStatus({}, bearer(SECRETS.read))).databaseReady).toBe(true);
    expect(await outcome(clients.learning.recordExecution({}, bearer(SECRETS.record)))).toBe(Code.InvalidArgument);
  });

  it("applies to Connect over HTTP/1.1 the same way (401, then 200 with the token)", async () => {
    const url = `${service?.url}/agentlearning.v1.AdminService/GetStatus`;
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
    const denied = await post({});
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { code: string }).code).toBe("unauthenticated");
    const forbidden = await post({ authorization: `Bearer ${SECRETS.predict}` });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { code: string }).code).toBe("permission_denied");
    const allowed = await post({ authorization: `Bearer ${SECRETS.read}` });
    expect(allowed.status).toBe(200);
  });

  it("accepts the bearer scheme in any case and rejects other schemes", async () => {
    expect(await outcome(clients.admin.getStatus({}, { headers: { authorization: `bearer ${SECRETS.read}` } }))).toBe("OK");
    expect(await outcome(clients.admin.getStatus({}, { headers: { authorization: `Basic ${SECRETS.read}` } }))).toBe(Code.Unauthenticated);
  });

  it("leaves health Check open", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: service?.url ?? "" }));
    expect((await health.check({})).status).toBe(ServingStatus.SERVING);
  });

  it("leaves reflection open", async () => {
    const reflection = createClient(reflectionV1.ServerReflection, createGrpcTransport({ baseUrl: service?.url ?? "" }));
    async function* listServices() {
      yield create(reflectionV1.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
    }
    const names: string[] = [];
    for await (const response of reflection.serverReflectionInfo(listServices())) {
      if (response.messageResponse.case === "listServicesResponse")
        names.push(...response.messageResponse.value.service.map((s) => s.name));
    }
    expect(names).toContain(LearningService.typeName);
  });

  describe("at start", () => {
    it("refuses a non-loopback bind without tokens, before listening", async () => {
      const port = await freePort();
      const quiet = memoryLogger();
      await expect(startService(config({ host: "0.0.0.0", port }), quiet.log)).rejects.toThrow(
        /refusing to serve on 0\.0\.0\.0 without access control: configure bearer tokens in AUTH_TOKENS or AUTH_TOKENS_FILE/,
      );
      const socket = connect(port, "127.0.0.1");
      const [error] = (await once(socket, "error")) as [NodeJS.ErrnoException];
      expect(error.code).toBe("ECONNREFUSED");
      // Nothing was started: not even the database work that precedes listening.
      expect(quiet.text()).not.toContain("migrations");
    });

    it("serves a non-loopback bind with tokens, warning that they travel in cleartext", async () => {
      const own = memoryLogger();
      const open = await startService(config({ host: "0.0.0.0", authTokens: AUTH_TOKENS }), own.log);
      try {
        const admin = createClient(AdminService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${open.port}` }));
        expect(await outcome(admin.getStatus({}))).toBe(Code.Unauthenticated);
        expect(await outcome(admin.getStatus({}, bearer(SECRETS.read)))).toBe("OK");
      } finally {
        await open.stop();
      }
      expect(own.text()).toContain("bearer tokens cross the network in cleartext");
    });

    it("refuses to start on a malformed AUTH_TOKENS, without echoing it", async () => {
      const quiet = memoryLogger();
      const attempt = startService(config({ authTokens: `ci:${SECRETS.read}:read` }), quiet.log);
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(error)).toMatch(/AUTH_TOKENS entry 1 \("ci"\): the second field must be the token's SHA-256/);
      expect(String(error)).not.toContain(SECRETS.read);
    });
  });

  describe("the CLI", () => {
    beforeAll(async () => {
      // Compiled as cli.test.ts does: diagnostics elsewhere in the tree (others' work in progress)
      // do not stop tsc emitting, so only errors in the CLI's own files fail this suite.
      await requireBuild(/src\/cli\//);
    }, 300_000);

    it("runs `status --token T`", async () => {
      const run = await runCli(["status", "--address", service?.url ?? "", "--token", SECRETS.read]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("database");
    });

    it("takes the token from AGENT_LEARNING_TOKEN", async () => {
      const run = await runCli(["status", "--json", "--address", service?.url ?? ""], { AGENT_LEARNING_TOKEN: SECRETS.admin });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ databaseReady: true });
    });

    it("says how to pass a token when the server wants one", async () => {
      const run = await runCli(["status", "--address", service?.url ?? ""]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("error: UNAUTHENTICATED: this call needs a bearer token");
      expect(run.stderr).toContain("pass --token TOKEN or set AGENT_LEARNING_TOKEN");
    });

    it("says the token was refused, without printing it", async () => {
      const run = await runCli(["status", "--address", service?.url ?? "", "--token", UNKNOWN_SECRET]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("error: UNAUTHENTICATED: the bearer token is not valid");
      expect(run.stderr).toContain("did not accept the token");
      expect(run.stderr).not.toContain(UNKNOWN_SECRET);
    });

    it("reports a token without the scope as PERMISSION_DENIED, naming the scope", async () => {
      const run = await runCli(["status", "--address", service?.url ?? "", "--token", SECRETS.record]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        'error: PERMISSION_DENIED: token "record-client" lacks the "read" scope that AdminService/GetStatus needs',
      );
    });
  });

  describe("the server log", () => {
    it("records rejected calls with their code", () => {
      const lines = logged
        .text()
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as { msg?: string; code?: string });
      const codes = new Set(lines.filter((line) => line.msg === "rpc").map((line) => line.code));
      expect(codes).toContain("Unauthenticated");
      expect(codes).toContain("PermissionDenied");
    });

    it("never contains a raw token, known or unknown", () => {
      const text = logged.text();
      expect(text.length).toBeGreaterThan(0);
      for (const secret of [...Object.values(SECRETS), UNKNOWN_SECRET]) expect(text).not.toContain(secret);
    });
  });
});
