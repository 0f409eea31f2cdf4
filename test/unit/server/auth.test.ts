import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Code, ConnectError, createClient, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AdminService } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../../gen/agentlearning/v1/learning_service_pb.js";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  authInterceptor,
  bearerToken,
  hasExplicitScope,
  isLoopbackHost,
  PRINCIPAL,
  requiredScope,
  resolveAuth,
} from "../../../src/server/auth.js";
import { HealthRegistry, registerHealth } from "../../../src/server/health.js";
import { hashToken, loadTokens, parseTokenList, parseTokenSpec, TokenTable } from "../../../src/server/tokens.js";

const sha = (secret: string) => hashToken(secret).toString("hex");

describe("token configuration", () => {
  test("parses a ;-separated list of name:sha256hex:scopes", () => {
    const entries = parseTokenList(`ci:${sha("a")}:record,read ; ops:${sha("b")}:admin;`, "AUTH_TOKENS");
    expect(entries.map((e) => [e.name, e.sha256.toString("hex"), [...e.scopes]])).toEqual([
      ["ci", sha("a"), ["record", "read"]],
      ["ops", sha("b"), ["admin"]],
    ]);
  });

  test("parses a JSON array of entry strings and {name, sha256, scopes} objects", () => {
    const json = JSON.stringify([`ci:${sha("a")}:predict`, { name: "ops", sha256: sha("b").toUpperCase(), scopes: ["read", "record"] }]);
    const entries = parseTokenList(json, "AUTH_TOKENS");
    expect(entries.map((e) => [e.name, e.sha256.toString("hex"), [...e.scopes]])).toEqual([
      ["ci", sha("a"), ["predict"]],
      ["ops", sha("b"), ["read", "record"]],
    ]);
  });

  describe("with a tokens file", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "auth-unit-"));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    test("reads one entry per line, skipping blank lines and # comments, and merges it with AUTH_TOKENS", async () => {
      const file = path.join(dir, "tokens");
      await writeFile(file, `# the CI runner\nci:${sha("a")}:record\n\nops:${sha("b")}:admin # on call\n`);
      const entries = loadTokens({ authTokens: `dash:${sha("c")}:read`, authTokensFile: file });
      expect(entries.map((e) => e.name)).toEqual(["dash", "ci", "ops"]);
    });

    test("names the file and line of a bad entry", async () => {
      const file = path.join(dir, "bad");
      await writeFile(file, `ci:${sha("a")}:record\nops:${sha("b")}:root\n`);
      expect(() => loadTokens({ authTokensFile: file })).toThrow(`AUTH_TOKENS_FILE ${file} line 2 ("ops"): unknown scope`);
    });

    test("says clearly when the file cannot be read", () => {
      expect(() => loadTokens({ authTokensFile: path.join(dir, "absent") })).toThrow(/AUTH_TOKENS_FILE: cannot read .*absent \(ENOENT\)/);
    });
  });

  test("rejects a raw token where the hash belongs, without echoing it", () => {
    const run = () => parseTokenSpec("ci:my-raw-secret-token:record", "AUTH_TOKENS entry 1");
    expect(run).toThrow(/SHA-256 in hex.*sha256sum/);
    expect(() => run()).not.toThrow(/my-raw-secret-token/);
  });

  test("rejects a wrong number of fields, an empty scope list and bad names", () => {
    expect(() => parseTokenSpec(`ci:${sha("a")}`, "e")).toThrow(/three fields/);
    expect(() => parseTokenSpec(`ci:${sha("a")}:`, "e")).toThrow(/no scope/);
    expect(() => parseTokenSpec(`c i:${sha("a")}:read`, "e")).toThrow(/name/);
  });

  test("rejects two tokens with one name, or one hash under two names", () => {
    expect(() => loadTokens({ authTokens: `ci:${sha("a")}:read;ci:${sha("b")}:read` })).toThrow(/"ci" is configured twice/);
    expect(() => loadTokens({ authTokens: `ci:${sha("a")}:read;ops:${sha("a")}:admin` })).toThrow(/same hash/);
  });

  test('the hash is the SHA-256 of the token\'s UTF-8 bytes, as `printf %s "$TOKEN" | sha256sum` prints it', () => {
    expect(sha("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("token verification", () => {
  const table = new TokenTable(loadTokens({ authTokens: `ci:${sha("s3cret")}:record;ops:${sha("other")}:admin` }));

  test("finds the token whose hash matches the presented secret", () => {
    expect(table.verify("s3cret")?.name).toBe("ci");
    expect(table.verify("other")?.name).toBe("ops");
  });

  test("knows no other secret, nor the hash itself presented as a secret", () => {
    expect(table.verify("s3cret ")).toBeUndefined();
    expect(table.verify(sha("s3cret"))).toBeUndefined();
    expect(table.verify("")).toBeUndefined();
  });
});

describe("bearer header", () => {
  test.each([
    ["Bearer abc", "abc"],
    ["bearer abc", "abc"],
    ["BEARER   abc  ", "abc"],
  ])("%j carries %j", (header, secret) => expect(bearerToken(header)).toBe(secret));

  test.each([[null], [""], ["Bearer"], ["Bearer "], ["Basic abc"], ["Bearer a b"], ["abc"]])("%j carries none", (header) =>
    expect(bearerToken(header)).toBeUndefined(),
  );
});

describe("scopes of the RPCs", () => {
  test("every RPC of both services has a scope chosen for it", () => {
    const unlisted = [...LearningService.methods, ...AdminService.methods].filter((m) => !hasExplicitScope(m)).map((m) => m.name);
    expect(unlisted).toEqual([]);
  });

  test("health and reflection are open", () => {
    expect(Health.methods.map(requiredScope)).toEqual([undefined, undefined]);
    expect(requiredScope(reflectionV1.ServerReflection.method.serverReflectionInfo)).toBeUndefined();
  });

  test("recording, predicting and reading each have their own scope; the rest is admin", () => {
    expect(requiredScope(LearningService.method.recordExecutions)).toBe("record");
    expect(requiredScope(LearningService.method.predictOutcome)).toBe("predict");
    expect(requiredScope(AdminService.method.exportData)).toBe("read");
    expect(requiredScope(AdminService.method.importData)).toBe("admin");
  });
});

describe("loopback detection", () => {
  test.each(["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"])(
    "%s is loopback",
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );

  test.each(["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "example.com", "localhost.example.com", "128.0.0.1"])(
    "%s is not loopback",
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );
});

describe("auth policy at start", () => {
  test("a loopback bind without tokens runs open", () => {
    expect(resolveAuth("127.0.0.1", {})).toBeUndefined();
  });

  test("a non-loopback bind without tokens is refused, saying what to configure", () => {
    expect(() => resolveAuth("0.0.0.0", {})).toThrow(
      /refusing to serve on 0\.0\.0\.0 without access control: configure bearer tokens in AUTH_TOKENS/,
    );
  });

  test("configured tokens turn auth on for any bind, loopback included", () => {
    expect(resolveAuth("127.0.0.1", { authTokens: `ci:${sha("a")}:read` })?.size).toBe(1);
    expect(resolveAuth("0.0.0.0", { authTokens: `ci:${sha("a")}:read` })?.size).toBe(1);
  });
});

describe("the auth interceptor", () => {
  const tokens = new TokenTable(loadTokens({ authTokens: `reader:${sha("r")}:read;recorder:${sha("w")}:record;root:${sha("a")}:admin` }));
  const seen: { principal: string | undefined; authorization: string | null }[] = [];
  const routes = (router: ConnectRouter) => {
    router.service(AdminService, {
      getStatus(_request, context) {
        seen.push({ principal: context.values.get(PRINCIPAL), authorization: context.requestHeader.get("authorization") });
        return {};
      },
    });
    registerHealth(router, new HealthRegistry([]));
  };
  const transport = createRouterTransport(routes, { router: { interceptors: [authInterceptor(tokens)] } });
  const admin = createClient(AdminService, transport);
  const as = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });

  async function failure(call: Promise<unknown>): Promise<ConnectError> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(error)}`);
    return error;
  }

  test("answers UNAUTHENTICATED with reason UNAUTHENTICATED when no token is sent", async () => {
    const error = await failure(admin.getStatus({}));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "UNAUTHENTICATED", domain: "agentlearning.v1" });
  });

  test("answers UNAUTHENTICATED for a token it does not know, without echoing it", async () => {
    const error = await failure(admin.getStatus({}, as("guess")));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.message).not.toContain("guess");
  });

  test("answers PERMISSION_DENIED with reason MISSING_SCOPE and the scope for a token without it", async () => {
    const error = await failure(admin.getStatus({}, as("w")));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.rawMessage).toBe('token "recorder" lacks the "read" scope that AdminService/GetStatus needs');
    expect(error.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "MISSING_SCOPE", metadata: { scope: "read" } });
  });

  test("lets a token with the scope, or admin, through, tells the handler its name and hides the header", async () => {
    seen.length = 0;
    await admin.getStatus({}, as("r"));
    await admin.getStatus({}, as("a"));
    expect(seen).toEqual([
      { principal: "reader", authorization: null },
      { principal: "root", authorization: null },
    ]);
  });

  test("lets anyone call health", async () => {
    const health = createClient(Health, transport);
    expect((await health.check({})).status).toBe(ServingStatus.NOT_SERVING);
  });
});
