import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { DatabasePool } from "slonik";
import { type BulkResult, BulkResultSchema, type Execution, RejectedExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { contentHash, type ExecutionRecord } from "../store/execution-record.js";
import { type InsertOutcome, insertExecutions } from "../store/executions.js";
import { invalidArgument } from "./errors.js";
import { executionViolations, validateExecution } from "./execution-input.js";

/** Largest number of executions one stream message may carry. */
export const MAX_EXECUTIONS_PER_MESSAGE = 1000;

/**
 * Batches of one upload committing at once. One: a second batch on another connection was faster
 * but took its sequence numbers among the first one's, so an upload's executions no longer
 * exported in the order they were sent (and an export no longer re-imported to the same order).
 */
const MAX_BATCHES_IN_FLIGHT = 1;

/** A batch handed to the store: its items and the outcomes to come. */
interface InFlightBatch {
  items: Pending[];
  outcomes: Promise<InsertOutcome[]>;
}

/** A valid item waiting for its batch: its position in the upload, record and content hash. */
interface Pending {
  index: number;
  record: ExecutionRecord;
  hash: Buffer;
}

/**
 * Consumes a client stream of execution chunks, committing valid executions in batches. A bad
 * item rejects only itself; a duplicate (same id, same content, earlier in this upload or stored
 * before) is acknowledged once; a database failure fails the call, and everything of the batches
 * not yet committed can be re-sent safely because ingestion is idempotent. The next batch is
 * validated while the last one commits; batches commit one after the other, in upload order.
 */
export async function ingestStream(
  pool: DatabasePool,
  knownAgents: Set<string>,
  messages: AsyncIterable<{ executions: Execution[] }>,
  batchSize: number,
  signal: AbortSignal,
): Promise<BulkResult> {
  const result = create(BulkResultSchema);
  let index = 0;
  let batch: Pending[] = [];
  // Batches being committed, oldest first (at most MAX_BATCHES_IN_FLIGHT), their results taken
  // in upload order; the next batch is validated meanwhile.
  const inFlight: InFlightBatch[] = [];

  const reject = (i: number, executionId: string, code: Code, field: string, reason: string) => {
    result.rejected.push(create(RejectedExecutionSchema, { index: i, executionId, code: codeName(code), field, reason }));
  };

  /** Waits for the oldest batch in flight and takes its outcomes into the result. */
  const settleOldest = async () => {
    const oldest = inFlight.shift();
    if (!oldest) return;
    const outcomes = await oldest.outcomes;
    outcomes.forEach((outcome, k) => {
      const item = oldest.items[k];
      if (!item) return;
      if (outcome.kind === "stored") result.storedCount++;
      else if (outcome.kind === "duplicate") result.duplicateIds.push(outcome.execution.executionId);
      else reject(item.index, item.record.executionId, Code.AlreadyExists, "execution_id", "already stored with different content");
    });
  };

  const flush = async () => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    // Earlier batches commit first, so a re-send of an id later in the upload finds it stored.
    while (inFlight.length >= MAX_BATCHES_IN_FLIGHT) await settleOldest();
    signal.throwIfAborted();
    const outcomes = insertExecutions(
      pool,
      current.map((p) => p.record),
      knownAgents,
      current.map((p) => p.hash),
    );
    // Observed when settled (in order); until then a failure must not go unhandled.
    outcomes.catch(() => {});
    inFlight.push({ items: current, outcomes });
  };

  try {
    for await (const message of messages) {
      if (message.executions.length > MAX_EXECUTIONS_PER_MESSAGE) {
        throw invalidArgument([
          {
            field: "executions",
            description: `a message may carry at most ${MAX_EXECUTIONS_PER_MESSAGE} executions, got ${message.executions.length}`,
            reason: "TOO_MANY",
          },
        ]);
      }
      for (const execution of message.executions) {
        const i = index++;
        // Validation is synchronous CPU work: yield now and then so a large upload does not stall
        // every other call on this replica for the length of a whole message.
        if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
        result.receivedCount++;
        const validation = validateExecution(execution);
        if (!validation.ok) {
          const first = executionViolations(validation.issues.slice(0, 1))[0];
          reject(i, execution.executionId, Code.InvalidArgument, first?.field ?? "", first?.description ?? "invalid");
          continue;
        }
        batch.push({ index: i, record: validation.record, hash: contentHash(validation.record) });
        if (batch.length >= batchSize) await flush();
      }
    }
    await flush();
    while (inFlight.length > 0) await settleOldest();
  } catch (error) {
    // The call fails with the first error; commits still in flight are waited for, so nothing of
    // this call runs on after its answer.
    await Promise.allSettled(inFlight.map((b) => b.outcomes));
    throw error;
  }
  result.rejected.sort((a, b) => a.index - b.index);
  return result;
}

function codeName(code: Code): string {
  return code === Code.AlreadyExists ? "ALREADY_EXISTS" : "INVALID_ARGUMENT";
}
