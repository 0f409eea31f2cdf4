import type { DatabasePool } from "slonik";
import type { ExecutionRecord } from "../store/execution-record.js";
import { type InsertOutcome, insertExecutions } from "../store/executions.js";

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
 * because PostgreSQL refused a row's data is retried one execution at a time, so that row fails
 * only its own call; any other failure (database unreachable, statement timeout) fails the group.
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
      group.forEach((waiter, i) => {
        waiter.resolve(outcomes[i] as InsertOutcome);
      });
    } catch (error) {
      if (group.length === 1 || !isRowRefused(error)) {
        for (const waiter of group) waiter.reject(error);
        return;
      }
      for (const waiter of group) {
        await this.insert([waiter]).then(([outcome]) => waiter.resolve(outcome as InsertOutcome), waiter.reject);
      }
    }
  }

  private insert(group: readonly Waiter[]): Promise<InsertOutcome[]> {
    return insertExecutions(
      this.pool,
      group.map((w) => w.record),
      this.knownAgents,
      group.map((w) => w.hash),
    );
  }
}

/**
 * Whether PostgreSQL refused the data of a row (SQLSTATE class 22, data exception, or 23,
 * integrity constraint violation), as opposed to failing for reasons every row shares.
 */
export function isRowRefused(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
