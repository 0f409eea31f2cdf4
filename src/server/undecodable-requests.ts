import { Code, ConnectError, type ConnectRouter, createContextKey, createContextValues, type Interceptor } from "@connectrpc/connect";
import { encodeEnvelope, type UniversalHandler, type UniversalHandlerFn, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeFromHttpStatus, codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
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
// while reading the request. Nothing else about the response changes. Every call refused before
// the interceptors is reported, rewritten or not, since the call interceptor never saw it.

/** Set by the outermost interceptor: the request was decoded and the call reached our code. */
const DECODED = createContextKey(false, { description: "the request reached the interceptors" });

/** The outermost interceptor: marks the call as decoded, for the rewrite below. */
export const markDecoded: Interceptor = (next) => (req) => {
  req.contextValues.set(DECODED, true);
  return next(req);
};

/** A unary call answered before it reached the interceptors, as reported for logs and metrics. */
export interface RejectedCall {
  /** Fully qualified, e.g. "agentlearning.v1.LearningService/RecordExecution". */
  method: string;
  /** The connect Code name of the answer the client got, e.g. "InvalidArgument". */
  code: string;
  /** connect's reason, e.g. "parse binary: premature EOF". */
  reason: string;
  seconds: number;
}

/** Given the error a call was answered with before reaching our code (if one can be read), the one to send instead. */
type Settle = (error: ConnectError | undefined) => ConnectError | undefined;

/**
 * Wraps every unary handler of the router (in place, before an adapter reads `router.handlers`)
 * so that undecodable requests answer INVALID_ARGUMENT over gRPC, gRPC-Web and Connect alike,
 * and reports every unary call refused before our code (which the call interceptor never sees).
 */
export function answerUndecodableRequests(router: ConnectRouter, report: (call: RejectedCall) => void): void {
  const wrapped = router.handlers.map((handler) => (handler.method.methodKind === "unary" ? wrapUnary(handler, report) : handler));
  router.handlers.splice(0, router.handlers.length, ...wrapped);
}

function wrapUnary(handler: UniversalHandler, report: (call: RejectedCall) => void): UniversalHandler {
  const method = `${handler.service.typeName}/${handler.method.name}`;
  const serve: UniversalHandlerFn = async (req) => {
    const started = process.hrtime.bigint();
    const contextValues = req.contextValues ?? createContextValues();
    const res = await handler({ ...req, contextValues });
    if (contextValues.get(DECODED)) return res;
    const settle: Settle = (error) => {
      const answer = error?.code === Code.Internal ? malformedRequest(error) : error;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      report({ method, code: answer ? Code[answer.code] : "Unknown", reason: error?.rawMessage ?? `HTTP ${res.status}`, seconds });
      return answer;
    };
    return settleAnswer(res, settle);
  };
  // The same descriptive properties (path, method, protocols, content types) as the original.
  return Object.assign(serve, handler);
}

/** Reads the error of an answer in the framing of the protocol that gave it, and sends `settle`'s instead. */
async function settleAnswer(res: UniversalServerResponse, settle: Settle): Promise<UniversalServerResponse> {
  const contentType = res.header?.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc-web")) return { ...res, body: settleGrpcWebTrailer(res.body, settle) };
  const trailer = res.trailer;
  if (contentType.startsWith("application/grpc") && trailer) {
    // The status is final once the body has been produced (for these calls it is empty).
    const settleTrailer = () => {
      const error = findTrailerError(trailer);
      const answer = settle(error);
      if (answer && answer !== error) {
        trailer.delete("grpc-status-details-bin");
        setTrailerStatus(trailer, answer);
      }
    };
    return { ...res, body: afterBody(res.body, settleTrailer) };
  }
  // Connect unary, or a refusal before any protocol (e.g. 415): the error, if any, is a JSON body.
  // A compressed body would be over compressMinBytes (1 KiB), which connect's messages never are.
  const readable =
    contentType.startsWith("application/json") && !res.header?.has("content-encoding") && res.body && Symbol.asyncIterator in res.body;
  if (!readable) {
    settle(new ConnectError(`HTTP ${res.status}`, codeFromHttpStatus(res.status)));
    return res;
  }
  return settleConnectError(res, res.body as AsyncIterable<Uint8Array>, settle);
}

async function* afterBody(body: UniversalServerResponse["body"], settle: () => void): AsyncIterable<Uint8Array> {
  if (body && Symbol.asyncIterator in body) yield* body;
  settle();
}

/** gRPC-Web carries the status in a last envelope flagged as trailer, inside the body. */
async function* settleGrpcWebTrailer(body: UniversalServerResponse["body"], settle: Settle): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  if (body && Symbol.asyncIterator in body) for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const last = lastEnvelope(bytes);
  const error = last && (last.flags & trailerFlag) === trailerFlag ? findTrailerError(trailerParse(last.data)) : undefined;
  const answer = settle(error);
  if (!last || !answer || answer === error) {
    yield bytes;
    return;
  }
  const trailer = new Headers();
  setTrailerStatus(trailer, answer);
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

async function settleConnectError(
  res: UniversalServerResponse,
  body: AsyncIterable<Uint8Array>,
  settle: Settle,
): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const error = errorFromJsonBytes(bytes, undefined, new ConnectError(`HTTP ${res.status}`, codeFromHttpStatus(res.status)));
  const answer = settle(error);
  if (!answer || answer === error) return { ...res, body: single(bytes) };
  const json = errorToJsonBytes(answer, undefined);
  const header = new Headers(res.header);
  header.set("content-length", String(json.byteLength));
  return { ...res, status: codeToHttpStatus(answer.code), header, body: single(json) };
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
