import { Code } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import { type AnswerLog, logAnswers } from "../store/answer-log.js";
import { errorWithInfo } from "./errors.js";
import { isRowRefused } from "./group-commit.js";

/** How the recommendation log is batched. */
export interface LogWriterOptions {
  /** Answers one statement carries at most; a full batch is written at once. */
  batchSize: number;
  /** How long an answer waits in the queue at most before its batch is written, ms. */
  flushIntervalMs: number;
  /** Answers the queue holds at most: beyond, callers wait for room (backpressure). */
  capacity: number;
  /** While writes fail, how old the oldest unwritten answer may get before new answers are refused, ms. */
  maxUnwrittenMs: number;
  /** How long `close` keeps retrying to write what is left, ms. */
  closeTimeoutMs: number;
}

/** The batching of the service: ~100 ms of answers per statement, refusals after ~1 s of failing writes. */
export const DEFAULT_LOG_WRITER_OPTIONS: LogWriterOptions = {
  batchSize: 500,
  flushIntervalMs: 100,
  capacity: 10_000,
  maxUnwrittenMs: 1_000,
  closeTimeoutMs: 10_000,
};

/** What the writer has done, for metrics and tests. */
export interface LogWriterStats {
  /** Batch statements committed. */
  statements: number;
  /** Answers written. */
  answers: number;
  /** Writes that failed (each retried). */
  failures: number;
  /** Answers PostgreSQL refused alone (logged with their ids, then dropped). */
  dropped: number;
  /** Answers waiting now. */
  queued: number;
}

interface Queued {
  answer: AnswerLog;
  seq: number;
  atMs: number;
}

interface FlushWaiter {
  seq: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface RoomWaiter {
  admit: () => void;
  reject: (error: unknown) => void;
}

const MAX_RETRY_MS = 1_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The recommendation log, written off the PredictAgents path: answers queue in memory and are
 * written in batches, one multi-row statement per batch, when a batch is full or its oldest answer
 * has waited `flushIntervalMs`, and completely on `close` (graceful shutdown). A crash loses what
 * is queued: about the last 100 ms of answers while PostgreSQL keeps up. A failed write is logged
 * and retried with backoff, the answers staying queued (the statement is idempotent); new answers
 * are refused with UNAVAILABLE once the oldest unwritten one is `maxUnwrittenMs` old, which keeps
 * the loss of a crash during an outage to about a second. A full queue makes callers wait for
 * room rather than drop answers. Readers that need every answer given so far call `flush`.
 */
export class RecommendationLogWriter {
  readonly #queue: Queued[] = [];
  #flushWaiters: FlushWaiter[] = [];
  #roomWaiters: RoomWaiter[] = [];
  #appended = 0;
  #written = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing = false;
  /** Answers at the head of the queue in the statement being written (they leave it once committed). */
  #inFlight = 0;
  #again = false;
  #failure: unknown;
  #retryMs = 0;
  #closed = false;
  readonly #stats = { statements: 0, answers: 0, failures: 0, dropped: 0 };

  constructor(
    private readonly pool: DatabasePool,
    private readonly log: Logger,
    private readonly options: LogWriterOptions = DEFAULT_LOG_WRITER_OPTIONS,
  ) {}

  /**
   * Queues one answer's log. Settles at once unless the queue is full (then once there is room);
   * rejects with UNAVAILABLE while writes have been failing for longer than `maxUnwrittenMs`.
   */
  append(answer: AnswerLog): Promise<void> {
    if (answer.recommendations.length === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(unavailable("the service is shutting down"));
    const oldest = this.#queue[0];
    if (this.#failure !== undefined && oldest && Date.now() - oldest.atMs > this.options.maxUnwrittenMs) {
      return Promise.reject(unavailable("the recommendation log cannot be written"));
    }
    if (this.#queue.length < this.options.capacity && this.#roomWaiters.length === 0) {
      this.#push(answer);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.#roomWaiters.push({ admit: () => resolve(this.#push(answer)), reject });
    });
  }

  /** Resolves once every answer appended before the call is in the database; rejects if writing fails now. */
  flush(): Promise<void> {
    if (this.#written >= this.#appended) return Promise.resolve();
    const seq = this.#appended;
    const done = new Promise<void>((resolve, reject) => this.#flushWaiters.push({ seq, resolve, reject }));
    this.#kick();
    return done;
  }

  /** Counters of what was written, and the queue's length now. */
  stats(): LogWriterStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /**
   * Graceful shutdown, after the RPC server stopped taking calls: writes everything queued,
   * retrying for at most `closeTimeoutMs`; what still cannot be written is logged as lost.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + this.options.closeTimeoutMs;
    for (const waiter of this.#roomWaiters.splice(0)) waiter.admit();
    while (this.#queue.length > 0 && Date.now() < deadline) {
      try {
        await this.flush();
      } catch {
        await sleep(Math.min(Math.max(this.#retryMs, 50), Math.max(0, deadline - Date.now())));
      }
    }
    clearTimeout(this.#timer);
    if (this.#queue.length > 0) {
      this.log.error({ lost: this.#queue.length, err: this.#failure }, "shutdown: recommendation logs that could not be written are lost");
    }
  }

  #push(answer: AnswerLog): void {
    this.#queue.push({ answer, seq: ++this.#appended, atMs: Date.now() });
    if (this.#queue.length - this.#inFlight >= this.options.batchSize) this.#kick();
    else this.#arm(this.options.flushIntervalMs);
  }

  /** Schedules a write in `ms` unless one is scheduled or running (a running one re-arms when it ends). */
  #arm(ms: number): void {
    if (this.#timer !== undefined || this.#writing) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, ms);
    // Shutdown writes the queue through `close`; a pending timer alone keeps no process alive.
    this.#timer.unref();
  }

  /** Writes now: starts the drain, or asks the running one to go on. */
  #kick(): void {
    if (this.#writing) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing = true;
    void this.#drain().finally(() => {
      this.#writing = false;
      this.#afterDrain();
    });
  }

  #afterDrain(): void {
    const again = this.#again;
    this.#again = false;
    const oldest = this.#queue[0];
    if (!oldest) return;
    if (this.#failure !== undefined) this.#arm(this.#retryMs);
    else if (again || this.#queue.length >= this.options.batchSize || this.#flushWaiters.length > 0) this.#kick();
    else this.#arm(Math.max(0, oldest.atMs + this.options.flushIntervalMs - Date.now()));
  }

  async #drain(): Promise<void> {
    // Batches go one at a time and in order, so `#written` covers every earlier answer.
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, this.options.batchSize);
      this.#inFlight = batch.length;
      try {
        await this.#write(batch);
      } catch (error) {
        this.#failed(error);
        return;
      } finally {
        this.#inFlight = 0;
      }
      this.#queue.splice(0, batch.length);
      this.#written = batch.at(-1)?.seq ?? this.#written;
      this.#failure = undefined;
      this.#retryMs = 0;
      this.#settle();
      // Whatever is short of a full batch waits for its interval, unless someone asked for a flush.
      if (this.#queue.length < this.options.batchSize && this.#flushWaiters.length === 0 && !this.#closed) return;
    }
  }

  async #write(batch: readonly Queued[]): Promise<void> {
    try {
      await logAnswers(
        this.pool,
        batch.map((q) => q.answer),
      );
      this.#stats.statements += 1;
      this.#stats.answers += batch.length;
    } catch (error) {
      if (!isRowRefused(error)) throw error;
      if (batch.length > 1) {
        // One answer's data was refused: write them one by one, so only that one is lost.
        for (const q of batch) await this.#write([q]);
        return;
      }
      this.#stats.dropped += 1;
      this.log.error(
        { err: error, recommendationIds: batch[0]?.answer.recommendations.map((r) => r.recommendationId) },
        "PostgreSQL refused a recommendation log: it is dropped",
      );
    }
  }

  #failed(error: unknown): void {
    this.#failure = error;
    this.#stats.failures += 1;
    this.#retryMs = Math.min(Math.max(this.#retryMs * 2, 50), MAX_RETRY_MS);
    this.log.error(
      { err: error, queued: this.#queue.length, retryInMs: this.#retryMs },
      "writing the recommendation log failed: the answers stay queued and the write is retried",
    );
    for (const waiter of this.#flushWaiters.splice(0)) waiter.reject(error);
    // Callers waiting for room would wait for the outage: past the bound they are refused, as new ones are.
    const oldest = this.#queue[0];
    if (oldest && Date.now() - oldest.atMs > this.options.maxUnwrittenMs) {
      for (const waiter of this.#roomWaiters.splice(0)) waiter.reject(unavailable("the recommendation log cannot be written"));
    }
  }

  /** Resolves the flushes now covered and lets waiting callers into the room freed. */
  #settle(): void {
    const covered = this.#flushWaiters.filter((w) => w.seq <= this.#written);
    this.#flushWaiters = this.#flushWaiters.filter((w) => w.seq > this.#written);
    for (const waiter of covered) waiter.resolve();
    while (this.#roomWaiters.length > 0 && this.#queue.length < this.options.capacity) this.#roomWaiters.shift()?.admit();
  }
}

function unavailable(why: string) {
  return errorWithInfo(Code.Unavailable, `${why}: no recommendation is given`, "RECOMMENDATION_LOG_UNAVAILABLE");
}
