import type { Client } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import type { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";

/** The RPCs the recorder uses, so tests can hand it an in-memory service. */
export type RecordingClient = Pick<Client<typeof LearningService>, "recordExecution" | "recordExecutions">;

/** Executions per RecordExecutions call: half the server's per-message limit of 1,000. */
export const RECORD_CHUNK_SIZE = 500;

/** How many rejections a tally keeps word for word; the count covers them all. */
const KEPT_REJECTIONS = 10;

/** One execution the service did not store, and why. (A type alias, so it is plain JSON data.) */
export type Rejection = {
  executionId: string;
  /** gRPC code name, e.g. ALREADY_EXISTS. */
  code: string;
  reason: string;
};

/** What the service answered for everything recorded so far. */
export type RecordingTally = {
  stored: number;
  /** Already stored with identical content (e.g. a replayed seed): counted once by the service. */
  duplicates: number;
  rejected: number;
  /** The first few rejections, word for word. */
  rejections: Rejection[];
};

/** Records simulated executions: one at a time, or queued and sent in bulk. */
export interface Recorder {
  /** Records one execution now (unary RecordExecution), so the next prediction can learn from it. */
  recordNow(execution: Execution): Promise<void>;
  /** Queues an execution for RecordExecutions; sends the queue once it holds a full chunk. */
  enqueue(execution: Execution): Promise<void>;
  /** Sends whatever is queued. */
  flush(): Promise<void>;
  /** The totals so far (a copy). */
  tally(): RecordingTally;
}

/**
 * Creates a recorder. Executions that followed a recommendation go one by one because their
 * outcome is feedback on that recommendation; the rest, which carry no such urgency, go in bulk
 * to spare round trips. A replayed execution_id with other content (ALREADY_EXISTS) is counted as
 * a rejection rather than ending the run, like the bulk call reports it.
 */
export function createRecorder(learning: RecordingClient, chunkSize = RECORD_CHUNK_SIZE): Recorder {
  const totals: RecordingTally = { stored: 0, duplicates: 0, rejected: 0, rejections: [] };
  let queue: Execution[] = [];
  const reject = (rejection: Rejection) => {
    totals.rejected++;
    if (totals.rejections.length < KEPT_REJECTIONS) totals.rejections.push(rejection);
  };

  const flush = async (): Promise<void> => {
    if (queue.length === 0) return;
    const executions = queue;
    queue = [];
    const { result } = await learning.recordExecutions(
      (async function* () {
        yield { executions };
      })(),
    );
    totals.stored += result?.storedCount ?? 0;
    totals.duplicates += result?.duplicateIds.length ?? 0;
    for (const item of result?.rejected ?? []) {
      reject({ executionId: item.executionId, code: item.code, reason: item.field ? `${item.field}: ${item.reason}` : item.reason });
    }
  };

  return {
    async recordNow(execution) {
      // Queued executions happened before this one: send them first, so the service sees the
      // history in the order it happened (its recent-window rules read that order).
      await flush();
      try {
        const response = await learning.recordExecution({ execution });
        if (response.duplicate) totals.duplicates++;
        else totals.stored++;
      } catch (error) {
        if (!(error instanceof ConnectError) || error.code !== Code.AlreadyExists) throw error;
        reject({ executionId: execution.executionId, code: "ALREADY_EXISTS", reason: error.rawMessage });
      }
    },
    async enqueue(execution) {
      queue.push(execution);
      if (queue.length >= chunkSize) await flush();
    },
    flush,
    tally: () => ({ ...totals, rejections: [...totals.rejections] }),
  };
}
