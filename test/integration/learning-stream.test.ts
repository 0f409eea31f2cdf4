import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Insight, InsightType } from "../../gen/agentlearning/v1/learning_pb.js";
import type {
  StreamInsightsRequest,
  StreamInsightsRequestSchema,
  StreamInsightsResponse,
} from "../../gen/agentlearning/v1/learning_service_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory } from "../support/world-history.js";

// StreamInsights as a client lives with it: replay, live delivery, resuming from any cursor it
// was given, heartbeats, filters, a second replica fed through LISTEN/NOTIFY, and shutdown.

const HEARTBEAT_MS = 200;

/** The fields of a StreamInsightsRequest a test sets. */
type StreamRequest = Exclude<MessageInitShape<typeof StreamInsightsRequestSchema>, StreamInsightsRequest>;

let server: TestServer;
const extraServers: TestServer[] = [];

/** A stream being read in the background, with what it has delivered so far. */
class FeedReader {
  readonly messages: StreamInsightsResponse[] = [];
  error: unknown;
  ended = false;
  readonly #abort = new AbortController();

  constructor(target: TestServer, request: StreamRequest) {
    const stream = target.learning.streamInsights(request, { signal: this.#abort.signal });
    void (async () => {
      try {
        for await (const message of stream) this.messages.push(message);
      } catch (error) {
        this.error = error;
      } finally {
        this.ended = true;
      }
    })();
  }

  get insights(): Insight[] {
    return this.messages.flatMap((m) => (m.event.case === "insight" ? [m.event.value] : []));
  }

  get heartbeats(): string[] {
    return this.messages.flatMap((m) => (m.event.case === "heartbeat" ? [m.event.value.cursor] : []));
  }

  /** Waits until `done` holds, failing after `timeoutMs`, or at once if the stream ended. */
  async until(done: (reader: this) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      if (this.ended) throw new Error(`the stream ended while waiting for ${what}: ${String(this.error)}`);
      if (Date.now() > deadline)
        throw new Error(`no ${what} within ${timeoutMs} ms (${this.insights.length} insights, ${this.heartbeats.length} heartbeats)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Waits for the next heartbeat: the stream has caught up and is idle. */
  async idle(timeoutMs = 5_000): Promise<void> {
    const seen = this.heartbeats.length;
    await this.until((r) => r.heartbeats.length > seen, timeoutMs, "heartbeat");
  }

  close(): void {
    this.#abort.abort();
  }
}

const readers: FeedReader[] = [];
function open(target: TestServer, request: StreamRequest): FeedReader {
  const reader = new FeedReader(target, request);
  readers.push(reader);
  return reader;
}

/** Everything the feed holds now, from the beginning, as one subscriber sees it. */
async function replay(request: StreamRequest = {}): Promise<Insight[]> {
  const reader = open(server, { ...request, fromBeginning: true });
  await reader.idle();
  reader.close();
  return reader.insights;
}

const versionsOf = (insights: readonly Insight[]) => insights.map((i) => `${i.insightId}@${i.cursor}`);

async function feedLength(): Promise<number> {
  return Number(await server.db.oneFirst(sql.type(z.object({ n: z.bigint() }))`SELECT count(*) AS n FROM insight_events`));
}

/** Records `count` executions of one task type of the world and runs Analyze; returns how many versions it published. */
async function newFindings(taskType: string, seed: number, count = 1_000): Promise<number> {
  await recordWorldHistory(server.learning, { taskTypes: [taskType], count, seed, idPrefix: `stream-${taskType}` });
  const run = await server.admin.analyze({});
  const published = run.createdCount + run.updatedCount + run.retiredCount;
  if (published === 0) throw new Error(`analysing ${taskType} published nothing`);
  return published;
}

const quiet = { analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000 };

beforeAll(async () => {
  server = await startTestServer({ config: { ...quiet, heartbeatMs: HEARTBEAT_MS } });
  // A first run on the empty database starts the schedule's clock, so no automatic run follows.
  await server.admin.analyze({});
  await newFindings("web_development", 201);
});

afterAll(async () => {
  for (const reader of readers) reader.close();
  for (const s of extraServers) await s.stop();
  await server?.stop();
});

describe("StreamInsights", () => {
  it("replays every version from the beginning, then delivers the ones a later Analyze publishes, each once", async () => {
    const stored = await feedLength();
    expect(stored).toBeGreaterThan(0);
    const reader = open(server, { fromBeginning: true });
    await reader.idle();
    expect(reader.insights).toHaveLength(stored);

    const published = await newFindings("bug_fix", 202);
    await reader.until((r) => r.insights.length >= stored + published, 5_000, `${published} live insights`);
    await reader.idle();
    expect(reader.insights).toHaveLength(stored + published);
    const versions = versionsOf(reader.insights);
    expect(new Set(versions).size).toBe(versions.length);
    expect(new Set(reader.insights.map((i) => i.cursor)).size).toBe(versions.length);
    // What arrived live is what a fresh subscriber replays.
    expect(versions).toEqual(versionsOf(await replay()));
  });

  it("resumes after the k-th insight's cursor with exactly the versions after it", async () => {
    const all = await replay();
    expect(all.length).toBeGreaterThan(3);
    for (const k of [0, Math.floor(all.length / 2), all.length - 2, all.length - 1]) {
      const cursor = all[k]?.cursor ?? "";
      const reader = open(server, { afterCursor: cursor });
      await reader.idle();
      reader.close();
      expect(versionsOf(reader.insights), `after the insight at ${k}`).toEqual(versionsOf(all.slice(k + 1)));
    }
  });

  it("ignores from_beginning when after_cursor is set", async () => {
    const all = await replay();
    const reader = open(server, { afterCursor: all[1]?.cursor ?? "", fromBeginning: true });
    await reader.idle();
    reader.close();
    expect(versionsOf(reader.insights)).toEqual(versionsOf(all.slice(2)));
  });

  it("sends heartbeats carrying a cursor on an idle stream", async () => {
    const started = Date.now();
    const reader = open(server, {});
    await reader.until((r) => r.heartbeats.length >= 3, 3_000, "three heartbeats");
    reader.close();
    expect(reader.insights).toEqual([]);
    for (const cursor of reader.heartbeats) expect(cursor).not.toBe("");
    // Three intervals of 200 ms, not a busy loop and not a long silence.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * HEARTBEAT_MS - 50);
  });

  it("loses nothing published after a heartbeat when resumed after that heartbeat's cursor", async () => {
    const live = open(server, {});
    await live.idle();
    live.close();
    const cursor = live.heartbeats.at(-1) ?? "";
    const before = await replay();

    const published = await newFindings("documentation", 203);
    const resumed = open(server, { afterCursor: cursor });
    await resumed.idle();
    resumed.close();
    expect(resumed.insights).toHaveLength(published);
    const after = await replay();
    expect(versionsOf(after.slice(0, before.length))).toEqual(versionsOf(before));
    expect(versionsOf(resumed.insights)).toEqual(versionsOf(after.slice(before.length)));
  });

  it("applies types, task_types and min_confidence to what it replays and delivers live", async () => {
    const types = [InsightType.AVOID_PATTERN, InsightType.BEST_COMBO];
    const taskTypes = ["bug_fix", "data_pipeline"];
    const minConfidence = 0.99;
    const matches = (i: Insight) => types.includes(i.type) && taskTypes.includes(i.taskType) && i.confidence >= minConfidence;

    const filtered = open(server, { fromBeginning: true, types, taskTypes, minConfidence });
    await filtered.idle();
    const everything = await replay();
    expect(versionsOf(filtered.insights)).toEqual(versionsOf(everything.filter(matches)));
    // The filter must both keep and drop something for this test to mean anything.
    expect(filtered.insights.length).toBeGreaterThan(0);
    expect(filtered.insights.length).toBeLessThan(everything.length);

    await newFindings("data_pipeline", 204);
    const afterwards = await replay();
    const expected = afterwards.filter(matches);
    expect(expected.some((i) => i.taskType === "data_pipeline")).toBe(true);
    await filtered.until((r) => r.insights.length >= expected.length, 5_000, "the live data_pipeline insights");
    await filtered.idle();
    filtered.close();
    expect(versionsOf(filtered.insights)).toEqual(versionsOf(expected));
  });

  it("feeds a subscriber of a second replica, live through LISTEN/NOTIFY, with what Analyze on the first publishes", async () => {
    // The replica's heartbeat (and the re-read that goes with it) is far away: only a notification can wake it in time.
    const replica = await startTestServer({ databaseUrl: server.databaseUrl, config: { ...quiet, heartbeatMs: 60_000 } });
    extraServers.push(replica);
    const stored = await feedLength();
    const reader = open(replica, { fromBeginning: true });
    await reader.until((r) => r.insights.length >= stored, 5_000, "the replay on the replica");

    const published = await newFindings("security_audit", 205, 800);
    const started = Date.now();
    await reader.until((r) => r.insights.length >= stored + published, 5_000, `${published} live insights on the replica`);
    reader.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(versionsOf(reader.insights)).toEqual(versionsOf(await replay()));
  });

  it("ends an open stream with UNAVAILABLE when its server stops", async () => {
    const doomed = await startTestServer({
      databaseUrl: server.databaseUrl,
      config: { ...quiet, heartbeatMs: HEARTBEAT_MS, shutdownGraceMs: 2_000 },
    });
    extraServers.push(doomed);
    const reader = open(doomed, {});
    await reader.idle();
    const stopping = doomed.stop();
    const deadline = Date.now() + 5_000;
    while (!reader.ended && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reader.ended, "the stream was still open 5 s after stop()").toBe(true);
    expect(reader.error).toBeInstanceOf(ConnectError);
    expect((reader.error as ConnectError).code).toBe(Code.Unavailable);
    await stopping;
  });
});
