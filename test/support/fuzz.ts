// Tools for throwing bad input at a running server below the level of any generated client: a
// seeded random source, messages built from descriptors with hostile values, gRPC and Connect
// framing done by hand (so frames can be truncated or mis-flagged), a raw HTTP/2 client and a
// fingerprint of what the database holds, to prove rejected calls changed nothing.
import * as http2 from "node:http2";
import { create, type DescField, type DescMessage, type DescMethod, type DescService, toBinary, toJsonString } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

/** A seeded pseudo-random source (mulberry32), so a failing run can be replayed exactly. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  /** n random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

/** Every RPC of the given services, with the URL path a client posts to. */
export interface Rpc {
  method: DescMethod;
  /** "/package.Service/Method". */
  path: string;
  /** Whether the client sends a stream (client streaming). */
  clientStreams: boolean;
}

/** Lists every method of the given services. */
export function rpcsOf(services: readonly DescService[]): Rpc[] {
  return services.flatMap((service) =>
    service.methods.map((method) => ({
      method,
      path: `/${service.typeName}/${method.name}`,
      clientStreams: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    })),
  );
}

/** Seven ASCII bytes that `withInvalidUtf8` replaces, in the encoded message, by bytes that are not UTF-8. */
export const UTF8_MARKER = "~bAdU8~";
/** What replaces the marker: a bare continuation byte, an overlong NUL, a lone surrogate half and 0xFF. */
const INVALID_UTF8 = [0x80, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xff];

/** Replaces every occurrence of UTF8_MARKER in encoded bytes with invalid UTF-8 of the same length. */
export function withInvalidUtf8(encoded: Uint8Array): Uint8Array {
  const out = Uint8Array.from(encoded);
  const marker = Buffer.from(UTF8_MARKER, "ascii");
  for (let i = Buffer.from(out).indexOf(marker); i !== -1; i = Buffer.from(out).indexOf(marker, i + 1)) {
    out.set(INVALID_UTF8, i);
  }
  return out;
}

/** Strings that stress validation, storage and encoding; the big ones are drawn rarely. */
const HOSTILE_STRINGS = [
  "",
  " ",
  "a",
  "web_development",
  "ARCHITECT",
  "architect",
  "'; DROP TABLE executions; --",
  "$$",
  "\\",
  "%",
  "_",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff x",
  "‘’“”",
  "null",
  "NaN",
  "-1",
  "9999999999999999999",
  "18446744073709551616",
  "ß",
  "ﬃ".repeat(64),
  "\u212A",
  "🚀",
  "e\u0301",
  "\u202e",
  "\ufeff",
  "__proto__",
  "constructor",
  UTF8_MARKER,
  `x${UTF8_MARKER}y`,
  "W1siMSIsIngiXV0",
  "eyJhIjoxfQ",
];

/** Doubles that break naive arithmetic or storage. */
const HOSTILE_DOUBLES = [
  0,
  -0,
  1,
  -1,
  0.5,
  10,
  10.000001,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  31_536_001,
  100_001,
];
const HOSTILE_UINT32 = [0, 1, 2, 3, 10, 11, 20, 21, 64, 65, 500, 501, 1000, 2_147_483_647, 2_147_483_648, 4_294_967_295];
const HOSTILE_INT32 = [0, 1, -1, 999_999_999, 1_000_000_000, -1_000_000_000, 2_147_483_647, -2_147_483_648];
const HOSTILE_INT64 = [
  0n,
  1n,
  -1n,
  253_402_300_799n,
  253_402_300_800n,
  -62_135_596_801n,
  9_223_372_036_854_775_807n,
  -9_223_372_036_854_775_808n,
];
const HOSTILE_UINT64 = [0n, 1n, 9_223_372_036_854_775_807n, 9_223_372_036_854_775_808n, 18_446_744_073_709_551_615n];

/** Limits of a generated message: how big strings and lists may get. */
export interface MessageShape {
  /** Probability that a string is huge (64 KB to `maxStringBytes`). */
  hugeStringChance: number;
  /** Largest huge string. */
  maxStringBytes: number;
  /** Probability that a list is huge (`hugeListLength` elements). */
  hugeListChance: number;
  hugeListLength: number;
}

/** Builds a random message of `schema`: every field well typed, values drawn from hostile pools. */
export function randomMessage(rng: Rng, schema: DescMessage, shape: MessageShape, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (field.oneof !== undefined) continue; // set below, one member per oneof
    if (rng.chance(0.3)) continue;
    init[field.localName] = randomFieldValue(rng, field, shape, depth);
  }
  for (const oneof of schema.oneofs) {
    if (rng.chance(0.5)) continue;
    const field = rng.pick(oneof.fields);
    init[oneof.localName] = { case: field.localName, value: randomFieldValue(rng, field, shape, depth) };
  }
  return init;
}

function randomFieldValue(rng: Rng, field: DescField, shape: MessageShape, depth: number): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return randomScalar(rng, field.scalar, shape);
    case "enum":
      return rng.chance(0.8) ? rng.pick(field.enum.values).number : rng.pick([-1, 99, 2_147_483_647]);
    case "message":
      return depth > 3 ? {} : create(field.message, randomMessage(rng, field.message, shape, depth + 1) as never);
    case "list": {
      const length = rng.chance(shape.hugeListChance) ? shape.hugeListLength : rng.int(0, 5);
      const item = (): unknown => {
        if (field.listKind === "scalar") return randomScalar(rng, field.scalar, { ...shape, hugeStringChance: 0 });
        if (field.listKind === "enum") return rng.chance(0.8) ? rng.pick(field.enum.values).number : 77;
        return depth > 3 ? create(field.message) : create(field.message, randomMessage(rng, field.message, shape, depth + 1) as never);
      };
      // A huge list of one repeated value, or of distinct values, stresses different rules.
      if (length === shape.hugeListLength && field.listKind === "scalar" && field.scalar === ScalarType.STRING && rng.chance(0.5)) {
        return Array.from({ length }, (_, i) => `AGENT_${i}`);
      }
      return Array.from({ length }, item);
    }
    case "map": {
      const entries = rng.chance(shape.hugeListChance) ? 100 : rng.int(0, 4);
      const map: Record<string, unknown> = {};
      for (let i = 0; i < entries; i++) {
        const key = field.mapKey === ScalarType.STRING ? (rng.chance(0.5) ? rng.pick(HOSTILE_STRINGS) : `m${i}`) : String(rng.int(0, 9));
        map[key] =
          field.mapKind === "scalar"
            ? randomScalar(rng, field.scalar, { ...shape, hugeStringChance: 0 })
            : field.mapKind === "enum"
              ? rng.pick(field.enum.values).number
              : create(field.message);
      }
      return map;
    }
  }
}

function randomScalar(rng: Rng, type: ScalarType, shape: MessageShape): unknown {
  switch (type) {
    case ScalarType.STRING:
      return randomString(rng, shape);
    case ScalarType.BYTES:
      return rng.bytes(rng.int(0, 64));
    case ScalarType.BOOL:
      return rng.chance(0.5);
    case ScalarType.DOUBLE:
      return rng.chance(0.8) ? rng.pick(HOSTILE_DOUBLES) : (rng.next() - 0.5) * 10 ** rng.int(0, 12);
    case ScalarType.FLOAT:
      return rng.pick([0, 1, -1, Number.NaN, Number.POSITIVE_INFINITY]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return rng.pick(HOSTILE_UINT32);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return rng.pick(HOSTILE_INT32);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return rng.pick(HOSTILE_UINT64);
    default:
      return rng.pick(HOSTILE_INT64);
  }
}

function randomString(rng: Rng, shape: MessageShape): string {
  if (rng.chance(shape.hugeStringChance)) {
    const size = rng.int(64 * 1024, shape.maxStringBytes);
    return rng.pick(["x", "'", "é", "🚀", "\\"]).repeat(Math.ceil(size / 4));
  }
  const roll = rng.next();
  if (roll < 0.6) return rng.pick(HOSTILE_STRINGS);
  if (roll < 0.8) return `${rng.pick(["a", "task", "agent", "x"])}_${rng.int(0, 9999)}`;
  if (roll < 0.9) return "a".repeat(rng.pick([63, 64, 65, 127, 128, 129, 4096, 4097, 8192, 8193]));
  return Array.from({ length: rng.int(1, 16) }, () => String.fromCharCode(rng.int(0, 0xffff))).join("");
}

/** The binary encoding of a random message, or undefined when the values do not encode (never expected). */
export function encodeBinary(schema: DescMessage, init: Record<string, unknown>): Uint8Array {
  return toBinary(schema, create(schema, init as never));
}

/** The JSON encoding, or undefined when proto JSON cannot express a value (e.g. an out-of-range Timestamp). */
export function encodeJson(schema: DescMessage, init: Record<string, unknown>): string | undefined {
  try {
    return toJsonString(schema, create(schema, init as never));
  } catch {
    return undefined;
  }
}

/** Flips, drops, inserts and truncates bytes of a valid encoding: garbage that still looks like protobuf. */
export function mutate(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = Array.from(bytes);
  const edits = rng.int(1, 4);
  for (let i = 0; i < edits; i++) {
    const at = rng.int(0, Math.max(0, out.length - 1));
    const kind = rng.int(0, 3);
    if (kind === 0 && out.length > 0) out[at] = rng.int(0, 255);
    else if (kind === 1) out.splice(at, 0, ...rng.bytes(rng.int(1, 8)));
    else if (kind === 2) out.splice(at, rng.int(1, 8));
    else out.length = Math.min(out.length, at);
  }
  return Uint8Array.from(out);
}

/** One length-prefixed message of gRPC or Connect streaming; `declaredLength` may lie. */
export function envelope(payload: Uint8Array, flags = 0, declaredLength = payload.length): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, flags);
  view.setUint32(1, declaredLength >>> 0, false);
  out.set(payload, 5);
  return out;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

/** Splits a body of envelopes; a trailing partial envelope is returned as `rest`. */
export function splitEnvelopes(body: Uint8Array): { frames: { flags: number; data: Uint8Array }[]; rest: number } {
  const frames: { flags: number; data: Uint8Array }[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const view = new DataView(body.buffer, body.byteOffset + at, 5);
    const length = view.getUint32(1, false);
    if (at + 5 + length > body.length) break;
    frames.push({ flags: view.getUint8(0), data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return { frames, rest: body.length - at };
}

/** What one raw HTTP/2 request got back. */
export interface RawReply {
  /** HTTP status, 0 when no response head arrived. */
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Uint8Array;
  /** The gRPC status from trailers (or a trailers-only head), undefined when absent. */
  grpcStatus: number | undefined;
  grpcMessage: string;
  /** A stream or session error, e.g. a reset. */
  error: string | undefined;
  /** No end within the time limit; the stream was cancelled. */
  timedOut: boolean;
  /** A response message arrived before the stream was cancelled (an open server stream). */
  sawMessage: boolean;
}

/**
 * HTTP/2 with prior knowledge and nothing else: headers, DATA and END_STREAM exactly as given, so
 * gRPC frames can be malformed on purpose. One session is shared and replaced when it dies.
 */
export class RawH2Client {
  #session: http2.ClientHttp2Session | undefined;

  constructor(private readonly url: string) {}

  #connect(): http2.ClientHttp2Session {
    if (this.#session === undefined || this.#session.closed || this.#session.destroyed) {
      // Node's client session holds at most maxSessionMemory MB of unread data (default 10) and
      // kills every stream with ENHANCE_YOUR_CALM beyond it: 16 concurrent calls whose answers
      // echo megabyte strings (ExportData of fuzzed rows) exceeded that, on the client's side.
      const session = http2.connect(this.url, { maxSessionMemory: 256 });
      session.on("error", () => {}); // surfaced per stream
      this.#session = session;
    }
    return this.#session;
  }

  /** Sends one request; a server stream still open after a message (or after `timeoutMs`) is cancelled. */
  request(path: string, headers: Record<string, string>, body: Uint8Array, timeoutMs = 5_000): Promise<RawReply> {
    const session = this.#connect();
    return new Promise((resolve) => {
      const reply: RawReply = {
        status: 0,
        headers: {},
        trailers: {},
        body: new Uint8Array(),
        grpcStatus: undefined,
        grpcMessage: "",
        error: undefined,
        timedOut: false,
        sawMessage: false,
      };
      const chunks: Buffer[] = [];
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reply.body = Uint8Array.from(Buffer.concat(chunks));
        const source = reply.trailers["grpc-status"] !== undefined ? reply.trailers : reply.headers;
        const status = source["grpc-status"];
        reply.grpcStatus = status === undefined ? undefined : Number(status);
        reply.grpcMessage = decodeURIComponent(String(source["grpc-message"] ?? ""));
        resolve(reply);
      };
      const stream = session.request({ ":method": "POST", ":path": path, ...headers });
      const timer = setTimeout(() => {
        reply.timedOut = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        settle();
      }, timeoutMs);
      stream.on("response", (head) => {
        reply.headers = head;
        reply.status = Number(head[":status"] ?? 0);
      });
      stream.on("trailers", (trailers) => {
        reply.trailers = trailers;
      });
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        // A whole message of a server stream is enough: cancel rather than wait for its end.
        if (!reply.sawMessage && splitEnvelopes(Uint8Array.from(Buffer.concat(chunks))).frames.length > 0) {
          reply.sawMessage = true;
          setTimeout(() => {
            if (!settled) {
              stream.close(http2.constants.NGHTTP2_CANCEL);
              settle();
            }
          }, 50);
        }
      });
      stream.on("error", (error: Error) => {
        reply.error = error.message;
        settle();
      });
      stream.on("close", settle);
      stream.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    });
  }

  /** Closes the session. */
  close(): void {
    this.#session?.destroy();
  }
}

/** What one HTTP/1.1 request (fetch) got back. */
export interface FetchReply {
  status: number;
  contentType: string;
  body: Uint8Array;
  /** The Connect error code, from a unary error body or a streaming end-of-stream message. */
  connectCode: string | undefined;
  timedOut: boolean;
  error: string | undefined;
  /** A message of a Connect server stream arrived before we cancelled the (still open) stream. */
  sawMessage: boolean;
}

/**
 * POSTs raw bytes with fetch and reads the Connect error code, unary or streaming, out of the
 * answer; a server stream that is still open after its first message is cancelled.
 */
export async function postRaw(url: string, headers: Record<string, string>, body: Uint8Array, timeoutMs = 5_000): Promise<FetchReply> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const chunks: Buffer[] = [];
  let status = 0;
  let contentType = "";
  let sawMessage = false;
  const collected = () => Uint8Array.from(Buffer.concat(chunks));
  try {
    const response = await fetch(url, { method: "POST", headers, body, signal: controller.signal });
    status = response.status;
    contentType = response.headers.get("content-type") ?? "";
    const streaming = contentType.startsWith("application/connect+");
    if (response.body) {
      for await (const chunk of response.body) {
        chunks.push(Buffer.from(chunk));
        if (!streaming) continue;
        const { frames } = splitEnvelopes(collected());
        // An open server stream answered with a message: that is an acceptance; stop reading.
        if (frames.some((f) => (f.flags & 0x02) === 0) && !frames.some((f) => (f.flags & 0x02) !== 0)) {
          sawMessage = true;
          break;
        }
      }
    }
    if (sawMessage) controller.abort();
    return {
      status,
      contentType,
      body: collected(),
      connectCode: sawMessage ? undefined : connectCodeOf(contentType, collected()),
      timedOut: false,
      error: undefined,
      sawMessage,
    };
  } catch (error) {
    if (sawMessage)
      return { status, contentType, body: collected(), connectCode: undefined, timedOut: false, error: undefined, sawMessage };
    return {
      status,
      contentType,
      body: collected(),
      connectCode: undefined,
      timedOut: controller.signal.aborted,
      error: String(error),
      sawMessage,
    };
  } finally {
    clearTimeout(timer);
  }
}

function connectCodeOf(contentType: string, body: Uint8Array): string | undefined {
  const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");
  if (contentType.startsWith("application/connect+")) {
    const end = splitEnvelopes(body).frames.find((f) => (f.flags & 0x02) !== 0);
    if (!end) return undefined;
    const parsed = safeJson(text(end.data)) as { error?: { code?: unknown } } | undefined;
    return typeof parsed?.error?.code === "string" ? parsed.error.code : undefined;
  }
  if (contentType.startsWith("application/json")) {
    const parsed = safeJson(text(body)) as { code?: unknown } | undefined;
    return typeof parsed?.code === "string" ? parsed.code : undefined;
  }
  return undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const Fingerprint = z.object({
  executions: z.bigint(),
  hash_sum: z.string(),
  aggregated: z.bigint(),
  per_agent: z.bigint(),
  combinations: z.bigint(),
  agents: z.bigint(),
  settings: z.string(),
  models: z.string(),
});

/**
 * What the database holds, summarised: equal fingerprints mean no execution, aggregate or agent
 * was added or changed, the learning settings are as they were, and so are the model versions
 * (each with its status) and the activation history.
 */
export type DatabaseFingerprint = z.infer<typeof Fingerprint>;

/**
 * Count and sum of content hashes (which cover the id) of the executions, with the running
 * aggregates, the agent catalog, the learning settings and the model registry: any write a
 * rejected call let through changes it.
 */
export async function databaseFingerprint(db: CommonQueryMethods): Promise<DatabaseFingerprint> {
  return db.one(sql.type(Fingerprint)`
    SELECT
      (SELECT count(*) FROM executions)::bigint AS executions,
      (SELECT coalesce(sum(('x' || left(encode(content_hash, 'hex'), 15))::bit(60)::bigint), 0) FROM executions)::text AS hash_sum,
      (SELECT coalesce(sum(executions), 0) FROM task_type_stats)::bigint AS aggregated,
      (SELECT coalesce(sum(executions), 0) FROM agent_stats)::bigint AS per_agent,
      (SELECT coalesce(sum(executions), 0) FROM combination_stats)::bigint AS combinations,
      (SELECT count(*) FROM agents)::bigint AS agents,
      (SELECT string_agg(learning_mode || '/' || learning_enabled, ',') FROM service_settings) AS settings,
      (SELECT coalesce(string_agg(version || ':' || status, ',' ORDER BY version), '') FROM model_versions)
        || ' activations ' || (SELECT count(*) FROM model_activations) AS models`);
}
