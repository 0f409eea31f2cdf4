import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { DatabasePool } from "slonik";
import { type BulkResult, BulkResultSchema, type Execution, RejectedExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { contentHash, type ExecutionRecord } from "../store/execution-record.js";
import { insertExecutions } from "../store/executions.js";
import { invalidArgument } from "./errors.js";
import { validateExecution } from "./execution-input.js";
import { violationsOf } from "./validation.js";

/** Largest number of executions one stream message may carry. */
export const MAX_EXECUTIONS_PER_MESSAGE = 1000;

interface Pending {
  index: number;
  record: ExecutionRecord;
  hash: string;
}

/** An item whose id already occurs earlier in the same batch. */
interface Repeat {
  index: number;
  executionId: string;
  hash: string;
  /** Position in the batch of the first item with this id. */
  first: number;
}

/**
 * Consumes a client stream of execution chunks, committing valid executions in batches. A bad
 * item rejects only itself; a duplicate (same id, same content, earlier in this upload or stored
 * before) is acknowledged once; a database failure fails the call, and everything of the batches
 * not yet committed can be re-sent safely because ingestion is idempotent.
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
  // Repeats of an id within one batch are settled here (the store needs distinct ids per
  // statement); repeats across batches are settled by the store like any re-send.
  let firstInBatch = new Map<string, number>();
  let repeats: Repeat[] = [];

  const reject = (i: number, executionId: string, code: Code, field: string, reason: string) => {
    result.rejected.push(
      create(RejectedExecutionSchema, { index: i, executionId, code: codeName(code), field, reason }),
    );
  };

  const flush = async () => {
    if (batch.length === 0) return;
    signal.throwIfAborted();
    const current = batch;
    const currentRepeats = repeats;
    batch = [];
    repeats = [];
    firstInBatch = new Map();
    const outcomes = await insertExecutions(pool, current.map((p) => p.record), knownAgents);
    outcomes.forEach((outcome, k) => {
      const item = current[k];
      if (!item) return;
      if (outcome.kind === "stored") result.storedCount++;
      else if (outcome.kind === "duplicate") result.duplicateIds.push(outcome.execution.executionId);
      else reject(item.index, item.record.executionId, Code.AlreadyExists, "execution_id", "already stored with different content");
    });
    for (const repeat of currentRepeats) {
      const first = current[repeat.first];
      const firstOutcome = outcomes[repeat.first];
      if (first && firstOutcome && firstOutcome.kind !== "conflict" && first.hash === repeat.hash) {
        result.duplicateIds.push(repeat.executionId);
      } else {
        reject(repeat.index, repeat.executionId, Code.AlreadyExists, "execution_id", "already stored with different content");
      }
    }
  };

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
        const first = violationsOf(validation.error)[0];
        reject(i, execution.executionId, Code.InvalidArgument, first?.field ?? "", first?.description ?? "invalid");
        continue;
      }
      const record = validation.record;
      const hash = contentHash(record).toString("hex");
      const first = firstInBatch.get(record.executionId);
      if (first !== undefined) {
        repeats.push({ index: i, executionId: record.executionId, hash, first });
        continue;
      }
      firstInBatch.set(record.executionId, batch.length);
      batch.push({ index: i, record, hash });
      if (batch.length >= batchSize) await flush();
    }
  }
  await flush();
  result.rejected.sort((a, b) => a.index - b.index);
  return result;
}

function codeName(code: Code): string {
  return code === Code.AlreadyExists ? "ALREADY_EXISTS" : "INVALID_ARGUMENT";
}
