import { isMessage } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { ImportDataResponseSchema } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { RecordExecutionResponseSchema, RecordExecutionsResponseSchema } from "../../gen/agentlearning/v1/learning_service_pb.js";

/** The answers of the RPCs that store executions. */
const RECORDING_RESPONSES = new Set<string>([
  RecordExecutionResponseSchema.typeName,
  RecordExecutionsResponseSchema.typeName,
  ImportDataResponseSchema.typeName,
]);

/**
 * Counts newly stored executions from what the recording RPCs answer (a RecordExecution that is
 * not a duplicate, a bulk result's stored_count), so the handlers and the store stay free of
 * metrics. It must sit innermost, next to the handler: the stream-length limit turns a bulk
 * answer into RESOURCE_EXHAUSTED after its items were committed, and those must still count.
 * A bulk call that fails part-way (database lost, deadline, client gone) answers no result, so
 * the batches it committed before failing are not counted here.
 */
export function ingestCounter(onStored: (count: number) => void): Interceptor {
  return (next) => async (req) => {
    if (!RECORDING_RESPONSES.has(req.method.output.typeName)) return next(req);
    const response = await next(req);
    if (!response.stream) {
      onStored(storedBy(response.message));
      return response;
    }
    // Client-streaming answers (the bulk RPCs) travel as a stream of one message.
    return { ...response, message: countAsSent(response.message, onStored) };
  };
}

async function* countAsSent<T>(messages: AsyncIterable<T>, onStored: (count: number) => void): AsyncIterable<T> {
  for await (const message of messages) {
    onStored(storedBy(message));
    yield message;
  }
}

/** Executions a response says were newly stored. */
function storedBy(message: unknown): number {
  if (isMessage(message, RecordExecutionResponseSchema)) return message.duplicate ? 0 : 1;
  if (isMessage(message, RecordExecutionsResponseSchema) || isMessage(message, ImportDataResponseSchema)) {
    return message.result?.storedCount ?? 0;
  }
  return 0;
}
