import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { envelope, postRaw, RawH2Client, splitEnvelopes, databaseFingerprint } from "../support/fuzz.js";
import { grpc } from "../support/grpc-js-client.js";
import { parsePrometheus, sampleValue } from "../support/prometheus.js";
import { startTestServer, type TestServer } from "../support/server.js";

// A unary request connect-es cannot decode fails before any of our code runs; the framework
// would answer INTERNAL. Each protocol must instead say INVALID_ARGUMENT with the reason
// MALFORMED_REQUEST (src/server/undecodable-requests.ts), store nothing, and be counted. Calls
// refused there for other reasons keep connect's answer, and are counted too.

const RECORD = "/agentlearning.v1.LearningService/RecordExecution";
const STATUS = "/agentlearning.v1.AdminService/GetStatus";
const METHOD = "agentlearning.v1.LearningService/RecordExecution";
/** Field 26, wire type 3 (start group), then a truncated varint: no message parses from it. */
const UNDECODABLE = Uint8Array.from([0xd3, 0x81, 0x13]);
const INVALID_ARGUMENT = 3;

let server: TestServer;
let raw: RawH2Client;

beforeAll(async () => {
  server = await startTestServer();
  raw = new RawH2Client(server.url);
});

afterAll(async () => {
  raw?.close();
  await server?.stop();
});

/** The ErrorInfo reason of a gRPC error, read from its trailers by connect's own decoder. */
function reasonOf(trailers: Record<string, unknown>): string | undefined {
  const headers = new Headers();
  for (const [key, value] of Object.entries(trailers)) if (typeof value === "string") headers.set(key, value);
  return findTrailerError(headers)?.findDetails(ErrorInfoSchema)[0]?.reason;
}

async function rpcCount(method: string, code: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return sampleValue(parsePrometheus(text), "agent_learning_rpc_total", { method, code });
}

describe("a unary request whose body cannot be decoded", () => {
  it("answers INVALID_ARGUMENT with reason MALFORMED_REQUEST over gRPC", async () => {
    const reply = await raw.request(RECORD, { "content-type": "application/grpc", te: "trailers" }, envelope(UNDECODABLE));

    expect(reply.grpcStatus).toBe(INVALID_ARGUMENT);
    expect(reply.grpcMessage).toMatch(/^malformed request: parse binary/);
    expect(reasonOf(reply.trailers)).toBe("MALFORMED_REQUEST");
  });

  it("answers INVALID_ARGUMENT over gRPC when the envelope is flagged compressed without a grpc-encoding", async () => {
    const reply = await raw.request(
      RECORD,
      { "content-type": "application/grpc", te: "trailers" },
      envelope(Uint8Array.from([0x0a, 0x00]), 0x01),
    );

    expect(reply.grpcStatus).toBe(INVALID_ARGUMENT);
    expect(reply.grpcMessage).toMatch(/^malformed request: received compressed envelope/);
  });

  it("answers INVALID_ARGUMENT to an independent gRPC client (grpc-js) that sends undecodable bytes", async () => {
    const client = new grpc.Client(server.url.replace(/^http:\/\//, ""), grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError | null>((resolve) => {
        client.makeUnaryRequest(
          RECORD,
          () => Buffer.from(UNDECODABLE),
          (bytes: Buffer) => bytes,
          {},
          (err) => resolve(err),
        );
      });

      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });

  it("answers INVALID_ARGUMENT in the trailer frame over gRPC-Web (HTTP/1.1)", async () => {
    const reply = await postRaw(`${server.url}${RECORD}`, { "content-type": "application/grpc-web+proto" }, envelope(UNDECODABLE));
    const trailer = splitEnvelopes(reply.body).frames.find((f) => (f.flags & 0x80) === 0x80);
    const text = Buffer.from(trailer?.data ?? []).toString("utf8");

    expect(reply.status).toBe(200);
    expect(text).toMatch(/^grpc-status: ?3\r$/m);
    expect(decodeURIComponent(/^grpc-message: ?(.*)\r$/m.exec(text)?.[1] ?? "")).toMatch(/^malformed request: parse binary/);
  });

  it("answers HTTP 400 invalid_argument over Connect (binary)", async () => {
    const reply = await postRaw(
      `${server.url}${RECORD}`,
      { "content-type": "application/proto", "connect-protocol-version": "1" },
      UNDECODABLE,
    );
    const body = JSON.parse(Buffer.from(reply.body).toString("utf8")) as { code: string; message: string; details?: { type: string }[] };

    expect(reply.status).toBe(400);
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toMatch(/^malformed request: parse binary/);
    expect(body.details?.map((d) => d.type)).toContain("google.rpc.ErrorInfo");
  });

  it("answers HTTP 400 when gRPC framing is sent with a Connect content type", async () => {
    const reply = await postRaw(
      `${server.url}${RECORD}`,
      { "content-type": "application/proto", "connect-protocol-version": "1" },
      envelope(UNDECODABLE),
    );

    expect(reply.status).toBe(400);
    expect(reply.connectCode).toBe("invalid_argument");
  });

  it("stores nothing and is counted as INVALID_ARGUMENT in the metrics", async () => {
    const before = await databaseFingerprint(server.db);
    const counted = await rpcCount(METHOD, "InvalidArgument");

    await raw.request(RECORD, { "content-type": "application/grpc", te: "trailers" }, envelope(UNDECODABLE));
    await postRaw(`${server.url}${RECORD}`, { "content-type": "application/proto", "connect-protocol-version": "1" }, UNDECODABLE);

    expect(await databaseFingerprint(server.db)).toEqual(before);
    expect(await rpcCount(METHOD, "InvalidArgument")).toBe(counted + 2);
  });
});

describe("a unary request refused before the handler for another reason", () => {
  it("keeps connect's own answer to an unparsable grpc-timeout, and counts it under that code", async () => {
    const counted = await rpcCount(METHOD, "InvalidArgument");

    const reply = await raw.request(
      RECORD,
      { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "abc" },
      envelope(new Uint8Array()),
    );

    expect(reply.grpcStatus).toBe(INVALID_ARGUMENT);
    expect(reply.grpcMessage).toMatch(/invalid grpc timeout value/);
    expect(await rpcCount(METHOD, "InvalidArgument")).toBe(counted + 1);
  });

  it("counts a call with a content type no protocol serves (HTTP 415), as connect's Unknown", async () => {
    const counted = await rpcCount(METHOD, "Unknown");

    const reply = await postRaw(`${server.url}${RECORD}`, { "content-type": "text/plain" }, UNDECODABLE);

    expect(reply.status).toBe(415);
    expect(await rpcCount(METHOD, "Unknown")).toBe(counted + 1);
  });
});

describe("a unary request that decodes", () => {
  it("is answered unchanged over gRPC, gRPC-Web and Connect", async () => {
    const grpcReply = await raw.request(STATUS, { "content-type": "application/grpc", te: "trailers" }, envelope(new Uint8Array()));
    const webReply = await postRaw(`${server.url}${STATUS}`, { "content-type": "application/grpc-web+proto" }, envelope(new Uint8Array()));
    const connectReply = await postRaw(
      `${server.url}${STATUS}`,
      { "content-type": "application/proto", "connect-protocol-version": "1" },
      new Uint8Array(),
    );
    const webTrailer = splitEnvelopes(webReply.body).frames.find((f) => (f.flags & 0x80) === 0x80);

    expect(grpcReply.grpcStatus).toBe(0);
    expect(splitEnvelopes(grpcReply.body).frames).toHaveLength(1);
    expect(Buffer.from(webTrailer?.data ?? []).toString("utf8")).toMatch(/^grpc-status: ?0\r$/m);
    expect(connectReply.status).toBe(200);
    expect(connectReply.body.length).toBeGreaterThan(0);
  });
});
