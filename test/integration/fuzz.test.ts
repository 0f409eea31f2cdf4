import { gzipSync } from "node:zlib";
import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  fromJsonString,
  type MessageInitShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { ExecutionSchema, type RejectedExecution } from "../../gen/agentlearning/v1/execution_pb.js";
import {
  LearningService,
  RecordExecutionRequestSchema,
  RecordExecutionResponseSchema,
  RecordExecutionsRequestSchema,
  RecordExecutionsResponseSchema,
} from "../../gen/agentlearning/v1/learning_service_pb.js";
import { ReportService } from "../../gen/agentlearning/v1/report_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { makeExecution } from "../support/executions.js";
import {
  concatBytes,
  type DatabaseFingerprint,
  databaseFingerprint,
  encodeBinary,
  encodeJson,
  envelope,
  type MessageShape,
  mutate,
  postRaw,
  RawH2Client,
  randomMessage,
  Rng,
  type Rpc,
  rpcsOf,
  splitEnvelopes,
  UTF8_MARKER,
  withInvalidUtf8,
} from "../support/fuzz.js";
import { startTestServer, type TestServer } from "../support/server.js";

// Bad input of every kind, below any generated client: random bytes, mutated encodings, random
// but well-typed messages with hostile values, invalid UTF-8, broken framing and headers, sent to
// every RPC over gRPC (raw HTTP/2) and Connect (fetch, proto and JSON). The server must answer
// each with a proper status (never INTERNAL or UNKNOWN, never a hang or a reset), keep serving,
// and store nothing for what it rejects. The run is seeded: FUZZ_SEED replays another one.

const SEED = Number(process.env.FUZZ_SEED ?? 20_251_124);
const CONCURRENCY = 16;
const RPCS = rpcsOf([LearningService, AdminService, ReportService]);
/** RPCs with work behind them (training spawns a worker) get fewer of the random calls. */
const RARE = new Set(["Retrain"]);
const SHAPE: MessageShape = { hugeStringChance: 0.01, maxStringBytes: 1024 * 1024, hugeListChance: 0.01, hugeListLength: 10_000 };

const CODE_NAMES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

type Via = "grpc" | "connect";

/** One hand-built request. */
interface FuzzCall {
  /** What kind of bad input this is, for the report. */
  kind: string;
  rpc: Rpc;
  via: Via;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The payload's encoding, to read an OK answer back. */
  format: "proto" | "json";
  /** Ids of the valid executions the payload was built from, to find out afterwards whether any was stored. */
  ids?: string[];
}

/** What the server made of one call. */
interface Outcome {
  call: FuzzCall;
  /** A canonical code name ("invalid_argument"), "http 415", "no answer: …" or "hang". */
  code: string;
  message: string;
  /** Executions an OK answer says were newly stored. */
  stored: number;
  /** For an OK bulk answer (RecordExecutions, ImportData): how many items it received, and those it rejected. */
  bulk?: { received: number; rejected: RejectedExecution[] };
}

let server: TestServer;
let raw: RawH2Client;
let rng: Rng;

beforeAll(async () => {
  server = await startTestServer({
    // Short heartbeats: an accepted StreamInsights shows itself quickly instead of idling.
    config: { heartbeatMs: 200, retrainEveryExecutions: 1_000_000_000, analysisEveryExecutions: 1_000_000_000 },
  });
  raw = new RawH2Client(server.url);
  rng = new Rng(SEED);
  // Some history, so reads have rows to return and the fingerprint is not of an empty table.
  for (let i = 0; i < 20; i++) {
    await server.learning.recordExecution({
      execution: makeExecution({ executionId: `fuzz-base-${i}`, taskType: i % 2 ? "web_development" : "bug_fix", success: i % 3 !== 0 }),
    });
  }
});

afterAll(async () => {
  raw?.close();
  await server?.stop();
});

// ---------------------------------------------------------------------------------------------
// Building calls

function grpcHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { "content-type": "application/grpc", te: "trailers", ...extra };
}

function connectHeaders(rpc: Rpc, format: "proto" | "json", extra: Record<string, string> = {}): Record<string, string> {
  const streaming = rpc.method.methodKind !== "unary";
  const contentType = streaming ? `application/connect+${format}` : `application/${format}`;
  return { "content-type": contentType, "connect-protocol-version": "1", ...extra };
}

/** A well-formed call carrying `payload` (one message; client streams may get it split into several). */
function call(kind: string, rpc: Rpc, via: Via, format: "proto" | "json", payloads: Uint8Array[]): FuzzCall {
  const streaming = rpc.method.methodKind !== "unary";
  if (via === "grpc") {
    const headers = grpcHeaders(format === "json" ? { "content-type": "application/grpc+json" } : {});
    return { kind, rpc, via, headers, body: concatBytes(payloads.map((p) => envelope(p))), format };
  }
  const body = streaming ? concatBytes(payloads.map((p) => envelope(p))) : (payloads[0] ?? new Uint8Array());
  return { kind, rpc, via, headers: connectHeaders(rpc, format), body, format };
}

function pickRpc(): Rpc {
  for (;;) {
    const rpc = rng.pick(RPCS);
    if (!RARE.has(rpc.method.name) || rng.chance(0.1)) return rpc;
  }
}

function utf8(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, "utf8"));
}

/** A small valid request of each RPC (the seed of mutations), with the ids of the executions it carries. */
function validEncoded(rpc: Rpc): { bytes: Uint8Array; ids: string[] } {
  if (rpc.method.input.typeName === RecordExecutionRequestSchema.typeName) {
    const execution = makeExecution();
    return {
      bytes: toBinary(RecordExecutionRequestSchema, create(RecordExecutionRequestSchema, { execution })),
      ids: [execution.executionId],
    };
  }
  if (rpc.method.input.typeName === RecordExecutionsRequestSchema.typeName || rpc.method.name === "ImportData") {
    const executions = [makeExecution(), makeExecution()];
    return {
      bytes: toBinary(RecordExecutionsRequestSchema, create(RecordExecutionsRequestSchema, { executions })),
      ids: executions.map((e) => e.executionId),
    };
  }
  return {
    bytes: encodeBinary(rpc.method.input, randomMessage(rng, rpc.method.input, { ...SHAPE, hugeStringChance: 0, hugeListChance: 0 })),
    ids: [],
  };
}

/** Sets one string somewhere in the message (nested messages included) to text holding UTF8_MARKER. */
function plantMarker(schema: DescMessage, init: Record<string, unknown>, depth = 0): boolean {
  const fields = [...schema.fields].sort(() => rng.next() - 0.5);
  for (const field of fields) {
    if (plantIn(field, init, depth)) return true;
  }
  return false;
}

function plantIn(field: DescField, init: Record<string, unknown>, depth: number): boolean {
  const text = rng.pick([UTF8_MARKER, `x${UTF8_MARKER}y`, `${UTF8_MARKER}${UTF8_MARKER}`]);
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) {
    init[field.localName] = text;
    return true;
  }
  if (field.fieldKind === "list" && field.listKind === "scalar" && field.scalar === ScalarType.STRING) {
    init[field.localName] = ["A", text];
    return true;
  }
  if (field.fieldKind === "map" && field.mapKey === ScalarType.STRING && field.mapKind === "scalar") {
    init[field.localName] = { [text]: 1 };
    return true;
  }
  if (depth > 2) return false;
  if (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) {
    const child: Record<string, unknown> = field.message.typeName === ExecutionSchema.typeName ? { ...makeExecution() } : {};
    if (!plantMarker(field.message, child, depth + 1)) return false;
    const message = create(field.message, child as never);
    init[field.localName] = field.fieldKind === "message" ? message : [message];
    return true;
  }
  return false;
}

function hasStringField(schema: DescMessage, depth = 0): boolean {
  return schema.fields.some(
    (f) =>
      (f.fieldKind === "scalar" && f.scalar === ScalarType.STRING) ||
      (f.fieldKind === "list" && f.listKind === "scalar" && f.scalar === ScalarType.STRING) ||
      (f.fieldKind === "map" && f.mapKey === ScalarType.STRING) ||
      (depth < 2 &&
        (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) &&
        hasStringField(f.message, depth + 1)),
  );
}

// ---------------------------------------------------------------------------------------------
// Sending calls and judging answers

const OUTPUTS: Record<string, (bytes: Uint8Array, format: "proto" | "json") => number> = {
  RecordExecution: (bytes, format) => {
    const m =
      format === "proto"
        ? fromBinary(RecordExecutionResponseSchema, bytes)
        : fromJsonString(RecordExecutionResponseSchema, Buffer.from(bytes).toString("utf8"));
    return m.duplicate ? 0 : 1;
  },
  RecordExecutions: (bytes, format) => {
    const m =
      format === "proto"
        ? fromBinary(RecordExecutionsResponseSchema, bytes)
        : fromJsonString(RecordExecutionsResponseSchema, Buffer.from(bytes).toString("utf8"));
    return m.result?.storedCount ?? 0;
  },
};
// ImportDataResponse has the same shape (field 1: BulkResult) as RecordExecutionsResponse.
OUTPUTS.ImportData = OUTPUTS.RecordExecutions as (bytes: Uint8Array, format: "proto" | "json") => number;

function storedBy(call: FuzzCall, message: Uint8Array | undefined): number {
  const read = OUTPUTS[call.rpc.method.name];
  return read && message ? read(message, call.format) : 0;
}

/** What an OK bulk answer reports about the items (ImportDataResponse has the same shape). */
function bulkReportOf(call: FuzzCall, message: Uint8Array | undefined): Outcome["bulk"] {
  if (!message || !["RecordExecutions", "ImportData"].includes(call.rpc.method.name)) return undefined;
  const m =
    call.format === "proto"
      ? fromBinary(RecordExecutionsResponseSchema, message)
      : fromJsonString(RecordExecutionsResponseSchema, Buffer.from(message).toString("utf8"));
  return { received: m.result?.receivedCount ?? 0, rejected: m.result?.rejected ?? [] };
}

/**
 * A message arrived and the stream was still open: a server stream, or (on a busy machine) the
 * answer of a unary or client-streaming call whose end was slower than our patience. An answer
 * of a recording RPC is read for what it stored and rejected; a compressed frame or one that does
 * not decode is counted as storing nothing (and a bulk call without a readable report fails).
 */
function openStream(call: FuzzCall, frame: { flags: number; data: Uint8Array } | undefined): Outcome {
  const open: Outcome = { call, code: "ok", message: "server stream open", stored: 0 };
  if (frame?.flags !== 0) return open;
  try {
    return { ...open, stored: storedBy(call, frame.data), bulk: bulkReportOf(call, frame.data) };
  } catch {
    return open;
  }
}

async function send(call: FuzzCall): Promise<Outcome> {
  if (call.via === "grpc") {
    let reply = await raw.request(call.rpc.path, call.headers, call.body);
    // REFUSED_STREAM means the server never processed the stream (here: the connection was torn
    // down by another call's failure); gRPC clients retry it transparently, and so do we.
    for (let retry = 0; retry < 2 && reply.error?.includes("REFUSED_STREAM"); retry++) {
      reply = await raw.request(call.rpc.path, call.headers, call.body);
    }
    const first = splitEnvelopes(reply.body).frames[0]?.data;
    if (reply.grpcStatus !== undefined) {
      const code = CODE_NAMES[reply.grpcStatus] ?? `grpc-status ${reply.grpcStatus}`;
      if (code !== "ok") return { call, code, message: reply.grpcMessage, stored: 0 };
      return { call, code, message: reply.grpcMessage, stored: storedBy(call, first), bulk: bulkReportOf(call, first) };
    }
    // A message without trailers yet: a server stream still open, or (on a busy machine) the
    // answer of a unary or client-streaming call whose trailers were slower than our patience.
    if (reply.sawMessage) return openStream(call, splitEnvelopes(reply.body).frames[0]);
    if (reply.timedOut) return { call, code: "hang", message: "no answer within 5 s", stored: 0 };
    if (reply.status !== 0 && reply.status !== 200) return { call, code: `http ${reply.status}`, message: "", stored: 0 };
    return { call, code: `no answer: ${reply.error ?? `HTTP ${reply.status} without grpc-status`}`, message: "", stored: 0 };
  }
  const reply = await postRaw(`${server.url}${call.rpc.path}`, call.headers, call.body);
  if (reply.sawMessage)
    return openStream(
      call,
      splitEnvelopes(reply.body).frames.find((f) => (f.flags & 0x02) === 0),
    );
  if (reply.timedOut) return { call, code: "hang", message: "no answer within 5 s", stored: 0 };
  if (reply.error !== undefined) return { call, code: `no answer: ${reply.error}`, message: "", stored: 0 };
  if (reply.connectCode !== undefined) return { call, code: reply.connectCode, message: "", stored: 0 };
  if (reply.status === 200) {
    const streaming = reply.contentType.startsWith("application/connect+");
    const message = streaming ? splitEnvelopes(reply.body).frames.find((f) => (f.flags & 0x02) === 0)?.data : reply.body;
    return { call, code: "ok", message: "", stored: storedBy(call, message), bulk: bulkReportOf(call, message) };
  }
  return { call, code: `http ${reply.status}`, message: Buffer.from(reply.body).toString("utf8").slice(0, 200), stored: 0 };
}

async function sendAll(calls: readonly FuzzCall[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(calls.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < calls.length; i = next++) {
        const c = calls[i];
        if (c) outcomes[i] = await send(c);
      }
    }),
  );
  return outcomes;
}

/** An answer no client should ever get for its own bad input. */
function isForbidden(outcome: Outcome): boolean {
  return (
    outcome.code === "internal" ||
    outcome.code === "unknown" ||
    outcome.code === "data_loss" ||
    outcome.code === "hang" ||
    outcome.code.startsWith("no answer") ||
    /^http 5\d\d$/.test(outcome.code)
  );
}

/** Groups bad outcomes by what went wrong, with one reproduction each, for a readable failure. */
function report(outcomes: readonly Outcome[]): string[] {
  const groups = new Map<string, { count: number; example: Outcome }>();
  for (const o of outcomes) {
    const rpc = /^(well-typed|invalid|bulk)/.test(o.call.kind) ? `${o.call.rpc.method.name} | ` : "";
    const key = `${o.code} | ${rpc}${o.call.kind} | ${o.call.via} ${o.call.headers["content-type"] ?? "(no content-type)"} | ${o.message.replace(/[0-9]+/g, "N").slice(0, 90)}`;
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { count: 1, example: o });
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([key, { count, example }]) => {
      const body = Buffer.from(example.call.body);
      const bodyText = body.length > 96 ? `${body.subarray(0, 96).toString("hex")}… (${body.length} bytes)` : body.toString("hex");
      return `${count}× ${key}\n    e.g. POST ${example.call.rpc.path} ${JSON.stringify(example.call.headers)} body=${bodyText} message=${JSON.stringify(example.message.slice(0, 200))}`;
    });
}

/** Health SERVING, and a real call answered: the server neither died nor wedged. */
async function expectStillServing(): Promise<void> {
  const transport = createGrpcTransport({ baseUrl: server.url });
  const health = await createClient(Health, transport).check({ service: "" }, { timeoutMs: 5_000 });
  expect(health.status).toBe(ServingStatus.SERVING);
  const status = await createClient(AdminService, transport).getStatus({}, { timeoutMs: 5_000 });
  expect(status.databaseReady).toBe(true);
}

/**
 * The fingerprint after a batch equals the one before, plus exactly what OK answers said was
 * stored (and what calls with an open-ended answer, like DEADLINE_EXCEEDED, turned out to store).
 * The learning settings and the model registry change only if a call that may write them was not
 * definitely refused (a random SetLearningMode can be a valid one).
 */
function expectOnlyAcknowledgedWrites(
  before: DatabaseFingerprint,
  after: DatabaseFingerprint,
  outcomes: readonly Outcome[],
  uncertain: number,
): void {
  const stored = BigInt(outcomes.reduce((sum, o) => sum + o.stored, 0) + uncertain);
  const { settings: settingsBefore, models: modelsBefore, ...executionsBefore } = before;
  const { settings: settingsAfter, models: modelsAfter, ...executionsAfter } = after;
  if (stored === 0n) {
    expect(executionsAfter).toEqual(executionsBefore);
  } else {
    expect(after.executions).toBe(before.executions + stored);
    expect(after.aggregated).toBe(before.aggregated + stored);
    expect(after.combinations).toBe(before.combinations + stored);
  }
  const mayHaveWritten = (...methods: string[]) =>
    outcomes.some((o) => methods.includes(o.call.rpc.method.name) && !DEFINITE_REJECTIONS.has(o.code));
  if (!mayHaveWritten("SetLearningMode")) expect(settingsAfter).toBe(settingsBefore);
  if (!mayHaveWritten("ActivateModel", "Retrain")) expect(modelsAfter).toBe(modelsBefore);
}

/**
 * Answers that say the request was refused. DEADLINE_EXCEEDED, CANCELED and UNAVAILABLE are not
 * among them: gRPC allows those after the work was done (a 1 ns grpc-timeout may well commit).
 */
const DEFINITE_REJECTIONS = new Set([
  "invalid_argument",
  "not_found",
  "already_exists",
  "permission_denied",
  "failed_precondition",
  "out_of_range",
  "unimplemented",
  "unauthenticated",
  "resource_exhausted",
  "internal",
  "unknown",
]);

/**
 * Of the calls whose executions we know, those refused that stored some all the same (`leaked`),
 * and how many were stored by calls whose answer leaves it open (`uncertain`, e.g. a deadline).
 */
async function storedByUnacknowledgedCalls(outcomes: readonly Outcome[]): Promise<{ leaked: Outcome[]; uncertain: number }> {
  const ids = outcomes.flatMap((o) => o.call.ids ?? []);
  if (ids.length === 0) return { leaked: [], uncertain: 0 };
  const rows = await server.db.anyFirst(
    sql.type(
      z.object({ execution_id: z.string() }),
    )`SELECT execution_id FROM executions WHERE execution_id = ANY(${sql.array(ids, "text")})`,
  );
  const stored = new Set(rows);
  const storedOf = (o: Outcome) => (o.call.ids ?? []).filter((id) => stored.has(id)).length;
  const leaked = outcomes
    .filter((o) => DEFINITE_REJECTIONS.has(o.code) && storedOf(o) > 0)
    .map((o) => ({ ...o, code: `stored although answered ${o.code}` }));
  const uncertain = outcomes.filter((o) => o.code !== "ok" && !DEFINITE_REJECTIONS.has(o.code)).reduce((n, o) => n + storedOf(o), 0);
  return { leaked, uncertain };
}

/**
 * Sends a batch and checks that the database changed only by what OK answers acknowledged; returns
 * the forbidden answers (and rejected calls that stored something), grouped for the report.
 */
async function runBatch(calls: readonly FuzzCall[]): Promise<{ outcomes: Outcome[]; forbidden: string[] }> {
  const before = await databaseFingerprint(server.db);
  const outcomes = await sendAll(calls);
  const after = await databaseFingerprint(server.db);
  const { leaked, uncertain } = await storedByUnacknowledgedCalls(outcomes);
  const forbidden = report([...outcomes.filter(isForbidden), ...leaked]);
  if (leaked.length === 0) expectOnlyAcknowledgedWrites(before, after, outcomes, uncertain);
  return { outcomes, forbidden };
}

// ---------------------------------------------------------------------------------------------

describe(`fuzzing every RPC (seed ${SEED})`, () => {
  it("answers broken framing, wrong compression flags, wrong content types and bad headers with a proper code, never INTERNAL, UNKNOWN or a hang", async () => {
    const calls: FuzzCall[] = [];
    for (let i = 0; i < 350; i++) {
      const rpc = pickRpc();
      const { bytes: message, ids } = validEncoded(rpc);
      const variant = i % 7;
      if (variant === 0) {
        // Truncated: a partial header, or an envelope promising more bytes than follow.
        const cut = rng.int(0, 4);
        const body = rng.chance(0.5) ? envelope(message).subarray(0, cut) : envelope(message, 0, message.length + rng.int(1, 1_000_000));
        calls.push({ kind: "truncated frame", rpc, via: "grpc", headers: grpcHeaders(), body, format: "proto" });
      } else if (variant === 1) {
        // Compressed flag set without an encoding, with an unsupported one, or with bytes that are not gzip.
        const flags = rng.pick([0x01, 0x02, 0x03, 0x80, 0xff]);
        const encoding = rng.pick(["(none)", "gzip", "snappy", "identity", "gzip, br"]);
        const headers = grpcHeaders(encoding === "(none)" ? {} : { "grpc-encoding": encoding });
        calls.push({
          kind: `compression flag 0x${flags.toString(16)} encoding ${encoding}`,
          rpc,
          via: "grpc",
          headers,
          body: envelope(message, flags),
          format: "proto",
        });
      } else if (variant === 2) {
        // Properly gzipped but flagged uncompressed, and the other way round.
        const gz = Uint8Array.from(gzipSync(message));
        const body = rng.chance(0.5) ? envelope(gz, 0) : envelope(message, 1);
        calls.push({ kind: "gzip mismatch", rpc, via: "grpc", headers: grpcHeaders({ "grpc-encoding": "gzip" }), body, format: "proto" });
      } else if (variant === 3) {
        const contentType = rng.pick([
          "text/plain",
          "application/json",
          "application/grpc+thrift",
          "application/grpc; charset=ascii",
          "application/proto",
          "application/connect+proto",
          "",
          "application/grpc-web+json",
        ]);
        const headers = grpcHeaders({ "content-type": contentType });
        if (contentType === "") delete headers["content-type"];
        calls.push({
          kind: `gRPC with content-type "${contentType}"`,
          rpc,
          via: "grpc",
          headers,
          body: envelope(message),
          format: "proto",
        });
      } else if (variant === 4) {
        const contentType = rng.pick([
          "text/plain",
          "application/xml",
          "multipart/form-data",
          "application/json; charset=latin1",
          "application/grpc",
          "application/connect+json",
          "application/x-protobuf",
        ]);
        calls.push({
          kind: `Connect with content-type "${contentType}"`,
          rpc,
          via: "connect",
          headers: { "content-type": contentType, "connect-protocol-version": "1" },
          body: message,
          format: "proto",
        });
      } else if (variant === 5) {
        const header = rng.pick<Record<string, string>>([
          { "grpc-timeout": "abc" },
          { "grpc-timeout": "-1S" },
          { "grpc-timeout": "999999999H" },
          { "grpc-timeout": "1n" },
          { "grpc-accept-encoding": "x".repeat(2000) },
          { "grpc-encoding": "\u00ff" },
        ]);
        calls.push({
          kind: `gRPC header ${Object.keys(header)[0]}`,
          rpc,
          via: "grpc",
          headers: grpcHeaders(header),
          body: envelope(message),
          format: "proto",
        });
      } else {
        const header = rng.pick<Record<string, string>>([
          { "connect-protocol-version": "2" },
          { "connect-protocol-version": "" },
          { "connect-timeout-ms": "abc" },
          { "connect-timeout-ms": "-5" },
          { "connect-timeout-ms": "99999999999" },
          { "content-encoding": "gzip" },
          { "connect-content-encoding": "gzip" },
          { "content-encoding": "zstd" },
        ]);
        const streaming = rpc.method.methodKind !== "unary";
        const body = streaming ? envelope(message, rng.pick([0, 1, 2])) : message;
        calls.push({
          kind: `Connect header ${Object.keys(header)[0]}=${Object.values(header)[0]}`,
          rpc,
          via: "connect",
          headers: connectHeaders(rpc, "proto", header),
          body,
          format: "proto",
        });
      }
      const last = calls.at(-1);
      if (last) last.ids = ids;
    }

    const { forbidden } = await runBatch(calls);

    await expectStillServing();
    expect(forbidden, forbidden.join("\n")).toEqual([]);
  });

  it("answers random bytes and mutated encodings sent to every RPC with a proper code, never INTERNAL or UNKNOWN", async () => {
    const calls: FuzzCall[] = [];
    for (let i = 0; i < 1_300; i++) {
      const rpc = pickRpc();
      const via: Via = i % 3 === 0 ? "connect" : "grpc";
      if (i % 2 === 0) {
        const size = rng.chance(0.05) ? rng.int(4_096, 65_536) : rng.int(0, 300);
        const bytes = rng.bytes(size);
        if (via === "connect" && rng.chance(0.3)) {
          // Random text as Connect JSON.
          const text = Array.from({ length: rng.int(0, 200) }, () =>
            rng.pick([
              "{",
              "}",
              "[",
              "]",
              '"',
              ":",
              ",",
              "a",
              "1",
              "-",
              "e",
              "n",
              "\\u0000",
              "null",
              "NaN",
              " ",
              '"executionId"',
              '"execution"',
            ]),
          ).join("");
          calls.push(call("random JSON text", rpc, via, "json", [utf8(text)]));
        } else {
          calls.push(call("random bytes", rpc, via, "proto", [bytes]));
        }
      } else {
        const { bytes, ids } = validEncoded(rpc);
        calls.push({ ...call("mutated valid encoding", rpc, via, "proto", [mutate(rng, bytes)]), ids });
      }
    }

    const { forbidden } = await runBatch(calls);

    await expectStillServing();
    expect(forbidden, forbidden.join("\n")).toEqual([]);
  });

  it("answers random well-typed messages with hostile values (NaN, infinities, negatives, 1 MB strings, 10,000 agents) with a proper code over gRPC, Connect proto and Connect JSON", async () => {
    const calls: FuzzCall[] = [];
    for (let i = 0; i < 850; i++) {
      const rpc = pickRpc();
      const init = randomMessage(rng, rpc.method.input, SHAPE);
      const roll = i % 17;
      if (roll < 8) {
        calls.push(call("well-typed message", rpc, "grpc", "proto", [encodeBinary(rpc.method.input, init)]));
      } else if (roll < 12) {
        calls.push(call("well-typed message", rpc, "connect", "proto", [encodeBinary(rpc.method.input, init)]));
      } else {
        const json = encodeJson(rpc.method.input, init);
        if (json === undefined)
          calls.push(call("well-typed message (no JSON form)", rpc, "grpc", "proto", [encodeBinary(rpc.method.input, init)]));
        else calls.push(call("well-typed message as JSON", rpc, rng.chance(0.7) ? "connect" : "grpc", "json", [utf8(json)]));
      }
    }

    const { outcomes, forbidden } = await runBatch(calls);

    await expectStillServing();
    expect(forbidden, forbidden.join("\n")).toEqual([]);
    // Well-typed messages reach the handlers' own validation: most are rejected there, some pass.
    expect(outcomes.filter((o) => o.code === "invalid_argument").length).toBeGreaterThan(100);
    expect(outcomes.filter((o) => o.code === "ok").length).toBeGreaterThan(10);
  });

  it("rejects string fields holding invalid UTF-8 with INVALID_ARGUMENT and stores nothing", async () => {
    const calls: FuzzCall[] = [];
    const withStrings = RPCS.filter((rpc) => hasStringField(rpc.method.input) && !RARE.has(rpc.method.name));
    for (let i = 0; i < 200; i++) {
      const rpc = rng.pick(withStrings);
      const init = randomMessage(rng, rpc.method.input, { ...SHAPE, hugeStringChance: 0, hugeListChance: 0 });
      if (!plantMarker(rpc.method.input, init)) throw new Error(`no string field found in ${rpc.method.input.typeName}`);
      const bytes = withInvalidUtf8(encodeBinary(rpc.method.input, init));
      calls.push(call("invalid UTF-8 in a string field", rpc, i % 4 === 0 ? "connect" : "grpc", "proto", [bytes]));
    }

    const { outcomes } = await runBatch(calls);
    const wrong = outcomes.filter((o) => o.code !== "invalid_argument");

    await expectStillServing();
    expect(outcomes.reduce((sum, o) => sum + o.stored, 0)).toBe(0);
    expect(report(wrong), report(wrong).join("\n")).toEqual([]);
  });

  it("rejects invalid executions with INVALID_ARGUMENT one by one, reports every one of a bulk upload as rejected, and stores nothing", async () => {
    type Init = MessageInitShape<typeof ExecutionSchema>;
    // Each breaker breaks one field: the one a rejection must name (as the API spells it).
    const breakers: [name: string, field: string, breaker: () => Init][] = [
      ["complexity NaN", "complexity", () => ({ complexity: Number.NaN })],
      ["complexity +Infinity", "complexity", () => ({ complexity: Number.POSITIVE_INFINITY })],
      ["complexity -Infinity", "complexity", () => ({ complexity: Number.NEGATIVE_INFINITY })],
      ["complexity negative", "complexity", () => ({ complexity: -rng.next() - 1e-9 })],
      ["complexity above 10", "complexity", () => ({ complexity: 10 + rng.next() + 1e-9 })],
      ["duration NaN", "duration_seconds", () => ({ durationSeconds: Number.NaN })],
      ["duration negative", "duration_seconds", () => ({ durationSeconds: -1 })],
      ["duration above a year", "duration_seconds", () => ({ durationSeconds: 31_536_000.5 })],
      ["no agents", "agents", () => ({ agents: [] })],
      ["65 agents", "agents", () => ({ agents: Array.from({ length: 65 }, (_, i) => `A${i}`) })],
      ["10,000 agents", "agents", () => ({ agents: Array.from({ length: 10_000 }, (_, i) => `AGENT_${i}`) })],
      ["10,000 copies of one agent", "agents", () => ({ agents: Array.from({ length: 10_000 }, () => "ARCHITECT") })],
      ["duplicate agents", "agents[1]", () => ({ agents: ["ARCHITECT", "architect"] })],
      ["agent with a quote", "agents[0]", () => ({ agents: ["O'BRIEN"] })],
      ["agent of 65 characters", "agents[0]", () => ({ agents: ["A".repeat(65)] })],
      ["empty execution id", "execution_id", () => ({ executionId: "" })],
      ["execution id of 129 characters", "execution_id", () => ({ executionId: "x".repeat(129) })],
      ["execution id with NUL", "execution_id", () => ({ executionId: `nul-\u0000-${rng.int(0, 1e9)}` })],
      ["task type with SQL", "task_type", () => ({ taskType: "'; DROP TABLE executions; --" })],
      ["empty task type", "task_type", () => ({ taskType: "" })],
      ["description of 1 MB", "task_description", () => ({ taskDescription: "d".repeat(1024 * 1024) })],
      ["description of 8193 characters", "task_description", () => ({ taskDescription: "d".repeat(8193) })],
      ["error message of 4097 characters", "error_message", () => ({ success: false, errorMessage: "e".repeat(4097) })],
      ["error message with NUL", "error_message", () => ({ success: false, errorMessage: "boom\u0000" })],
      ["cpu NaN", "resource_usage.cpu_percent", () => ({ resourceUsage: { cpuPercent: Number.NaN } })],
      ["memory -Infinity", "resource_usage.memory_mb", () => ({ resourceUsage: { memoryMb: Number.NEGATIVE_INFINITY } })],
      [
        "metric value Infinity",
        "resource_usage.metrics.tokens",
        () => ({ resourceUsage: { metrics: { tokens: Number.POSITIVE_INFINITY } } }),
      ],
      ["metric with empty name", "resource_usage.metrics", () => ({ resourceUsage: { metrics: { "": 1 } } })],
      [
        "65 metrics",
        "resource_usage.metrics",
        () => ({ resourceUsage: { metrics: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`m${i}`, i])) } }),
      ],
      ["satisfaction 0", "user_satisfaction", () => ({ userSatisfaction: 0 })],
      ["satisfaction 11", "user_satisfaction", () => ({ userSatisfaction: 11 })],
      ["satisfaction 2^32-1", "user_satisfaction", () => ({ userSatisfaction: 4_294_967_295 })],
      ["finished before started", "finished_at", () => ({ startedAt: { seconds: 2_000n }, finishedAt: { seconds: 1_000n } })],
      ["started in year 10000", "started_at", () => ({ startedAt: { seconds: 253_402_300_800n } })],
      // Proto JSON cannot express these Timestamps: binary only (see below).
      ["started at int64 max", "started_at", () => ({ startedAt: { seconds: 9_223_372_036_854_775_807n } })],
      ["negative nanos", "finished_at.nanos", () => ({ finishedAt: { seconds: 1n, nanos: -1 } })],
      ["recommendation id of 129 characters", "recommendation_id", () => ({ recommendationId: "r".repeat(129) })],
      // Binary encoding turns a lone surrogate into U+FFFD (valid): JSON only (see below).
      ["model version with a lone surrogate", "model_version", () => ({ modelVersion: "v\ud800" })],
    ];
    const jsonOnly = new Set(["model version with a lone surrogate"]);
    const binaryOnly = new Set(["started at int64 max", "started in year 10000", "negative nanos"]);
    const invalid = (format: "proto" | "json") => {
      const usable = breakers.filter(([name]) => !(format === "proto" ? jsonOnly : binaryOnly).has(name));
      const [name, field, breaker] = rng.pick(usable);
      return { name, field, execution: makeExecution({ executionId: `fuzz-invalid-${rng.int(0, 1e9)}`, ...breaker() }) };
    };
    const record = RPCS.find((r) => r.method.name === "RecordExecution");
    const bulk = RPCS.find((r) => r.method.name === "RecordExecutions");
    const importData = RPCS.find((r) => r.method.name === "ImportData");
    if (!record || !bulk || !importData) throw new Error("RPCs missing");

    const calls: FuzzCall[] = [];
    /** The invalid items each bulk call carries, in upload order. */
    const bulkItems = new Map<FuzzCall, { executionId: string; field: string }[]>();
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 2) {
        const items = Array.from({ length: rng.int(1, 5) }, () => invalid("proto"));
        const payload = toBinary(
          RecordExecutionsRequestSchema,
          create(RecordExecutionsRequestSchema, { executions: items.map((x) => x.execution) }),
        );
        const bulkCall = call(
          `bulk of invalid executions (${items.map((x) => x.name).join(", ")})`,
          rng.chance(0.5) ? bulk : importData,
          "grpc",
          "proto",
          [payload],
        );
        calls.push(bulkCall);
        bulkItems.set(
          bulkCall,
          items.map((x) => ({ executionId: x.execution.executionId, field: x.field })),
        );
      } else {
        const format = i % 3 === 0 ? "proto" : "json";
        const { name, execution } = invalid(format);
        const request = create(RecordExecutionRequestSchema, { execution });
        if (format === "proto")
          calls.push(call(`invalid execution: ${name}`, record, "grpc", "proto", [toBinary(RecordExecutionRequestSchema, request)]));
        else
          calls.push(
            call(`invalid execution as JSON: ${name}`, record, "connect", "json", [
              utf8(toJsonString(RecordExecutionRequestSchema, request)),
            ]),
          );
      }
    }

    const { outcomes } = await runBatch(calls);
    // One by one: INVALID_ARGUMENT. In bulk: the call succeeds, stores nothing, and the response
    // says it received every item and rejected every one, in order, by its id, as INVALID_ARGUMENT,
    // naming the field its breaker broke and saying why.
    const wrong = outcomes.filter((o) => o.call.rpc === record && o.code !== "invalid_argument");
    const bulkMismatches = outcomes.flatMap((o) => {
      const items = bulkItems.get(o.call);
      if (!items) return [];
      const expected = items.map((item, index) => ({ index, executionId: item.executionId, code: "INVALID_ARGUMENT", field: item.field }));
      const got = (o.bulk?.rejected ?? []).map((r) => ({ index: r.index, executionId: r.executionId, code: r.code, field: r.field }));
      const said = o.code === "ok" && o.bulk?.received === items.length && (o.bulk?.rejected ?? []).every((r) => r.reason !== "");
      if (said && JSON.stringify(got) === JSON.stringify(expected)) return [];
      const reasons = (o.bulk?.rejected ?? []).map((r) => r.reason);
      return [
        `${o.call.kind}: ${o.code}, received ${o.bulk?.received}, rejected ${JSON.stringify(got)} because ${JSON.stringify(reasons)}, expected ${JSON.stringify(expected)}`,
      ];
    });
    expect(bulkItems.size).toBe(100);

    await expectStillServing();
    expect(report(wrong), report(wrong).join("\n")).toEqual([]);
    expect(bulkMismatches, bulkMismatches.join("\n")).toEqual([]);
    expect(outcomes.reduce((sum, o) => sum + o.stored, 0)).toBe(0);
  });
});
