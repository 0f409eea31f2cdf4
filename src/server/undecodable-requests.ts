import { Code, ConnectError, type ConnectRouter, createContextKey, createContextValues, type Interceptor } from "@connectrpc/connect";
import { encodeEnvelope, type UniversalHandler, type UniversalHandlerFn, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { malformedRequest } from "../service/errors.js";

// connect-es decodes a unary request before any interceptor runs, and answers one it cannot
// decode (protobuf bytes that do not parse, an envelope flagged compressed with no codec) as
// INTERNAL: to the caller that reads as our fault, and retry policies retry it. The caller sent
// it, so it is INVALID_ARGUMENT (reason MALFORMED_REQUEST). Streaming calls decode inside the
// interceptors, where the call interceptor already maps the same errors (service/errors.ts).
//
// A unary answer is rewritten only when the call never reached the first interceptor (so no
// code of ours ran and could have failed) and the answer is INTERNAL: then the framework failed
// while reading the request. Nothing else about the response changes.

/** Set by the outermost interceptor: the request was decoded and the call reached our code. */
const DECODED = createContextKey(false, { description: "the request reached the interceptors" });

/** The outermost interceptor: marks the call as decoded, for the rewrite below. */
export const markDecoded: Interceptor = (next) => (req) => {
  req.contextValues.set(DECODED, true);
  return next(req);
};

/** What the rewrite tells about a call that never reached the interceptors (for logs and metrics). */
export interface UndecodableCall {
  /** Fully qualified, e.g. "agentlearning.v1.LearningService/RecordExecution". */
  method: string;
  /** connect's reason, e.g. "parse binary: premature EOF". */
  reason: string;
  seconds: number;
}

/**
 * Wraps every unary handler of the router (in place, before an adapter reads `router.handlers`)
 * so that undecodable requests answer INVALID_ARGUMENT over gRPC, gRPC-Web and Connect alike.
 */
export function answerUndecodableRequests(router: ConnectRouter, report: (call: UndecodableCall) => void): void {
  const wrapped = router.handlers.map((handler) => (handler.method.methodKind === "unary" ? wrapUnary(handler, report) : handler));
  router.handlers.splice(0, router.handlers.length, ...wrapped);
}

function wrapUnary(handler: UniversalHandler, report: (call: UndecodableCall) => void): UniversalHandler {
  const method = `${handler.service.typeName}/${handler.method.name}`;
  const serve: UniversalHandlerFn = async (req) => {
    const started = process.hrtime.bigint();
    const contextValues = req.contextValues ?? createContextValues();
    const res = await handler({ ...req, contextValues });
    if (contextValues.get(DECODED)) return res;
    const reported = (error: ConnectError) => {
      report({ method, reason: error.rawMessage, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      return malformedRequest(error);
    };
    return rewriteInternal(res, reported);
  };
  // The same descriptive properties (path, method, protocols, content types) as the original.
  return Object.assign(serve, handler);
}

/** Replaces an INTERNAL answer by `replace(error)`, in the framing of the protocol that answered. */
async function rewriteInternal(res: UniversalServerResponse, replace: (error: ConnectError) => ConnectError): Promise<UniversalServerResponse> {
  const contentType = res.header?.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc-web")) return { ...res, body: rewriteGrpcWebTrailer(res.body, replace) };
  if (contentType.startsWith("application/grpc")) {
    const trailer = res.trailer;
    if (!trailer) return res;
    // The status is final once the body has been produced (for these calls it is empty).
    const settle = () => {
      const error = findTrailerError(trailer);
      if (error?.code === Code.Internal) {
        trailer.delete("grpc-status-details-bin");
        setTrailerStatus(trailer, replace(error));
      }
    };
    return { ...res, body: afterBody(res.body, settle) };
  }
  // Connect unary: the error is the JSON body of a non-200 answer. A compressed body would be
  // over compressMinBytes (1 KiB), which connect's decoding messages never are: left alone.
  if (res.status !== codeToHttpStatus(Code.Internal) || res.header?.has("content-encoding") || !res.body || !(Symbol.asyncIterator in res.body)) return res;
  return rewriteConnectError(res, res.body, replace);
}

async function* afterBody(body: UniversalServerResponse["body"], settle: () => void): AsyncIterable<Uint8Array> {
  if (body && Symbol.asyncIterator in body) yield* body;
  settle();
}

/** gRPC-Web carries the status in a last envelope flagged as trailer, inside the body. */
async function* rewriteGrpcWebTrailer(body: UniversalServerResponse["body"], replace: (error: ConnectError) => ConnectError): AsyncIterable<Uint8Array> {
  if (!body || !(Symbol.asyncIterator in body)) return;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const last = lastEnvelope(bytes);
  const error = last && (last.flags & trailerFlag) === trailerFlag ? findTrailerError(trailerParse(last.data)) : undefined;
  if (!last || error?.code !== Code.Internal) {
    yield bytes;
    return;
  }
  const trailer = new Headers();
  setTrailerStatus(trailer, replace(error));
  yield bytes.subarray(0, last.offset);
  yield encodeEnvelope(trailerFlag, trailerSerialize(trailer));
}

/** The last of the envelopes (flags, 4-byte big-endian length, data) that make up `bytes`. */
function lastEnvelope(bytes: Uint8Array): { offset: number; flags: number; data: Uint8Array } | undefined {
  let last: { offset: number; flags: number; data: Uint8Array } | undefined;
  for (let offset = 0; offset + 5 <= bytes.length; ) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + offset + 1, 4).getUint32(0);
    if (offset + 5 + length > bytes.length) return undefined;
    last = { offset, flags: bytes[offset] ?? 0, data: bytes.subarray(offset + 5, offset + 5 + length) };
    offset += 5 + length;
  }
  return last;
}

async function rewriteConnectError(
  res: UniversalServerResponse,
  body: AsyncIterable<Uint8Array>,
  replace: (error: ConnectError) => ConnectError,
): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const error = errorFromJsonBytes(bytes, undefined, new ConnectError("unreadable error body", Code.Unknown));
  if (error.code !== Code.Internal) return { ...res, body: single(bytes) };
  const replacement = replace(error);
  const answer = errorToJsonBytes(replacement, undefined);
  const header = new Headers(res.header);
  header.set("content-length", String(answer.byteLength));
  return { ...res, status: codeToHttpStatus(replacement.code), header, body: single(answer) };
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
