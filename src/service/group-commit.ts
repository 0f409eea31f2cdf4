import type { DatabasePool } from "slonik";
import type { ExecutionRecord } from "../store/execution-record.js";
import { type InsertOutcome, insertExecutions } from "../store/executions.js";
import { isDatabaseUnavailable } from "./errors.js";

interface Waiter {
  record: ExecutionRecord;
  hash: Buffer;
  resolve: (outcome: InsertOutcome) => void;
  reject: (error: unknown) => void;
}

/** How a GroupCommit batches. */
export interface GroupCommitOptions {
  /** Most executions one statement carries. */
  maxGroup: number;
  /** Statements in flight at once: while they commit, new calls gather into the next group. */
  maxInFlight: number;
}

/**
 * Group commit for single executions: concurrent RecordExecution calls share one statement (and
 * so one commit and one WAL flush) instead of paying for a commit each. A call's promise settles
 * only once its group has committed, with that execution's own outcome (stored, duplicate,
 * conflict), so an answer still means committed and nothing is counted twice. A group that fails
 * on its data (rather than on an unreachable database) is retried one execution at a time, so a
 * row PostgreSQL refuses fails only its own call.
 */
export class GroupCommit {
  private readonly queue: Waiter[] = [];
  private inFlight = 0;

  constructor(
    private readonly pool: DatabasePool,
    private readonly knownAgents: Set<string>,
    private readonly options: GroupCommitOptions = { maxGroup: 256, maxInFlight: 2 },
  ) {}

  /** Stores one validated execution with whatever else is waiting; settles once committed. */
  record(record: ExecutionRecord, hash: Buffer): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, hash, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const group = this.queue.splice(0, this.options.maxGroup);
      this.inFlight++;
      void this.commit(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async commit(group: Waiter[]): Promise<void> {
    try {
      const outcomes = await this.insert(group);
      group.forEach((waiter, i) => waiter.resolve(outcomes[i] as InsertOutcome));
    } catch (error) {
      if (group.length === 1 || isDatabaseUnavailable(error)) {
        for (const waiter of group) waiter.reject(error);
        return;
      }
      for (const waiter of group) {
        await this.insert([waiter]).then(([outcome]) => waiter.resolve(outcome as InsertOutcome), waiter.reject);
      }
    }
  }

  private insert(group: readonly Waiter[]): Promise<InsertOutcome[]> {
    return insertExecutions(this.pool, group.map((w) => w.record), this.knownAgents, group.map((w) => w.hash));
  }
}
