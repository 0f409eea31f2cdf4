import { performance } from "node:perf_hooks";
import type { PredictAgentsRequest } from "../gen/agentlearning/v1/learning_service_pb.js";
import { messagesOf } from "./bulk-ingest.js";
import type { BenchPostgres } from "./database.js";
import { holdInsightStream, type SubscriberFigures } from "./insight-subscriber.js";
import { noopCall } from "./noop-rpc.js";
import { predictCall, predictRequests, type SourceCounts } from "./predict.js";
import { readRss, type RssSample, type RssSummary, sampleRss, summarizeRss } from "./rss.js";
import { assertExecutionCount, type BenchClients, connectBenchClients } from "./service.js";
import { feedEventsBetween, feedPosition, ledgerFailures, readSoakLedger, type SoakLedger } from "./soak-ledger.js";
import { type KindFigures, runSoakLoop, WrongAnswer } from "./soak-load.js";
import { quantileSorted } from "./stats.js";
import { toExecutionMessage, worldExecution } from "./world.js";
import { type ServerProcess, startServerProcess } from "../test/support/server-process.js";

/** How the soak is run. */
export interface SoakPlan {
  /** The mixed load's length; every loop stops by itself at its end. */
  durationMs: number;
  /** Mixed load before the measured run (JIT, pool, caches, first analysis), not measured. */
  warmupMs: number;
  /** The no-op baseline, closed loop at `recordCallers`, before and after the soak. */
  noopMs: number;
  recordCallers: number;
  predictCallers: number;
  /** One RecordExecutions stream of `bulkSize` executions (messages of `bulkMessageSize`), then this pause. */
  bulkEveryMs: number;
  bulkSize: number;
  bulkMessageSize: number;
  /** StreamInsights calls held open through the whole run. */
  subscribers: number;
  rssEveryMs: number;
  seed: number;
}

/** What the soak measured; `failures` empty means it passed. */
export interface SoakFigures {
  plan: SoakPlan;
  noopBefore: KindFigures;
  noopAfter: KindFigures;
  record: KindFigures;
  predict: KindFigures;
  predictSources: SourceCounts;
  /** Streams as calls; `executions` of them acknowledged. */
  bulk: KindFigures & { executions: number };
  /** Each subscriber's figures, with the feed events it had to receive up to the cursor it reached. */
  subscribers: (Omit<SubscriberFigures, "deliveryMs"> & { owed: number; undelivered: number })[];
  /** Feed events written while the subscribers were open. */
  feedEvents: number;
  /** Insight publish (updated_at) to arrival at a subscriber, over both subscribers, µs. */
  delivery: { p50Us: number; p99Us: number };
  /** The child's RSS once started, before any load. */
  rssBootBytes: number;
  rss: RssSummary;
  rssSamples: RssSample[];
  acknowledged: { warmup: number; unary: number; bulk: number; total: number };
  ledger: SoakLedger;
  serverExit: string;
  serverLogLines: number;
  /** The newest of the server's output (with LOG_LEVEL=warn, only warnings and errors). */
  serverLogTail: string;
  failures: string[];
}

/** Deadline of each unary call and stream upload: long enough for a retrain's stall, short enough to end. */
const CALL_TIMEOUT_MS = 15_000;

/** One RecordExecution of a fresh world execution; a `duplicate` answer means ids collided or it was stored twice. */
function recordCall(learning: BenchClients["learning"], seed: number, prefix: string, acked: string[]) {
  return async (n: number) => {
    const execution = toExecutionMessage(worldExecution(seed, prefix, n));
    const response = await learning.recordExecution({ execution });
    if (response.duplicate) throw new WrongAnswer(`${execution.executionId} was answered as a duplicate`);
    acked.push(execution.executionId);
  };
}

/** One RecordExecutions stream of `size` fresh executions; all must come back stored. */
function bulkCall(learning: BenchClients["learning"], plan: SoakPlan, acked: string[]) {
  return async (n: number) => {
    const executions = Array.from({ length: plan.bulkSize }, (_, i) => worldExecution(plan.seed, "soak-b", n * plan.bulkSize + i));
    const response = await learning.recordExecutions(messagesOf(executions, plan.bulkMessageSize));
    const result = response.result;
    if (!result || result.storedCount !== plan.bulkSize || result.rejected.length > 0 || result.duplicateIds.length > 0) {
      throw new WrongAnswer(
        `stream ${n} stored ${result?.storedCount ?? 0} of ${plan.bulkSize} ` +
          `(${result?.rejected.length ?? 0} rejected, ${result?.duplicateIds.length ?? 0} duplicates)`,
      );
    }
    for (const e of executions) acked.push(e.executionId);
  };
}

/**
 * The soak: the service in a child process on a fresh database, warmed up, a no-op baseline, then
 * `durationMs` of unary records, predictions, bulk streams and held insight streams at once while
 * the child's RSS is read every second, the no-op again, and a check with SQL that the database
 * holds exactly the acknowledged executions. Failures are collected, not thrown, so the report
 * shows the whole run; the caller fails the bench on any.
 */
export async function measureSoak(postgres: BenchPostgres, plan: SoakPlan, progress: (message: string) => void): Promise<SoakFigures> {
  const url = await postgres.freshDatabase("soak");
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess({ databaseUrl: url });
    const clients = connectBenchClients(server.url, CALL_TIMEOUT_MS);
    try {
      return await soakAgainst(server, clients, url, plan, progress);
    } finally {
      clients.close();
    }
  } finally {
    await server?.stop();
    await postgres.dropDatabase(url);
  }
}

/** The measured phase: every load at once, the insight streams held open, the child's RSS read throughout. */
async function mixedLoad(
  pid: number,
  clients: BenchClients,
  url: string,
  plan: SoakPlan,
  requests: readonly PredictAgentsRequest[],
  acked: { unaryIds: string[]; bulkIds: string[] },
) {
  const feedStart = await feedPosition(url);
  const streamsEnd = new AbortController();
  const subscribing = Array.from({ length: plan.subscribers }, () => holdInsightStream(clients.learning, feedStart, streamsEnd.signal));
  const rssSampling = sampleRss(pid, plan.rssEveryMs);
  const deadline = performance.now() + plan.durationMs;
  let feedAtClose: Promise<bigint> | undefined;
  const streamTimer = setTimeout(() => {
    // Read as the streams close: what was committed by then and not received was still in flight.
    feedAtClose = feedPosition(url);
    streamsEnd.abort();
  }, plan.durationMs);
  const predictSources: SourceCounts = {};
  const [record, predict, bulk] = await Promise.all([
    runSoakLoop({ callers: plan.recordCallers, deadline, call: recordCall(clients.learning, plan.seed, "soak-r", acked.unaryIds) }),
    runSoakLoop({ callers: plan.predictCallers, deadline, call: predictCall(clients, requests, predictSources) }),
    runSoakLoop({ callers: 1, deadline, pauseMs: plan.bulkEveryMs, call: bulkCall(clients.learning, plan, acked.bulkIds) }),
  ]);
  const rssSamples = await rssSampling.stop();
  const held = await Promise.all(subscribing);
  clearTimeout(streamTimer);
  const closedAt = (await feedAtClose) ?? (await feedPosition(url));
  const feedEvents = await feedEventsBetween(url, feedStart, closedAt);
  // Exactly once: a subscriber owes every event between its start and the cursor it reached, no more.
  const subscribers = await Promise.all(
    held.map(async ({ deliveryMs, ...h }) => ({
      ...h,
      owed: await feedEventsBetween(url, BigInt(h.startCursor), BigInt(h.reachedCursor)),
      undelivered: await feedEventsBetween(url, BigInt(h.reachedCursor), closedAt),
    })),
  );
  const delays = Float64Array.from(held.flatMap((h) => h.deliveryMs)).sort();
  const delivery = { p50Us: quantileSorted(delays, 0.5) * 1_000, p99Us: quantileSorted(delays, 0.99) * 1_000 };
  return { record, predict, bulk, predictSources, subscribers, feedEvents, delivery, rssSamples };
}

async function soakAgainst(
  server: ServerProcess,
  clients: BenchClients,
  url: string,
  plan: SoakPlan,
  progress: (message: string) => void,
): Promise<SoakFigures> {
  const failures: string[] = [];
  const pid = server.pid;
  if (pid === undefined) throw new Error(`the server is not running (${server.exitReason() ?? "no exit seen"})`);
  const rssBootBytes = (await readRss(pid)) ?? Number.NaN;
  const requests = predictRequests(plan.seed);
  // The acknowledged ids: what the database must hold at the end, exactly once each.
  const warmupIds: string[] = [];
  const unaryIds: string[] = [];
  const bulkIds: string[] = [];

  progress(`soak: warm-up ${plan.warmupMs / 1000} s, no-op baseline ${plan.noopMs / 1000} s (server pid ${pid}, ${server.url})`);
  const warmupEnd = performance.now() + plan.warmupMs;
  const warmup = await Promise.all([
    runSoakLoop({ callers: plan.recordCallers, deadline: warmupEnd, call: recordCall(clients.learning, plan.seed, "soak-w", warmupIds) }),
    runSoakLoop({ callers: plan.predictCallers, deadline: warmupEnd, call: predictCall(clients, requests, {}) }),
  ]);
  const noopBefore = await runSoakLoop({ callers: plan.recordCallers, deadline: performance.now() + plan.noopMs, call: noopCall(clients) });

  progress(
    `soak: ${plan.durationMs / 1000} s of ${plan.recordCallers} RecordExecution + ${plan.predictCallers} PredictAgents callers, ` +
      `a RecordExecutions stream of ${plan.bulkSize} every ${plan.bulkEveryMs / 1000} s, ${plan.subscribers} StreamInsights subscribers`,
  );
  const { record, predict, bulk, predictSources, subscribers, feedEvents, delivery, rssSamples } = await mixedLoad(
    pid,
    clients,
    url,
    plan,
    requests,
    { unaryIds, bulkIds },
  );
  const crashed = server.exitReason();
  if (crashed !== undefined) failures.push(`the server ${crashed} during the soak`);

  const noopAfter = await runSoakLoop({ callers: plan.recordCallers, deadline: performance.now() + plan.noopMs, call: noopCall(clients) });

  const allIds = [...warmupIds, ...unaryIds, ...bulkIds];
  const acknowledged = { warmup: warmupIds.length, unary: unaryIds.length, bulk: bulkIds.length, total: allIds.length };
  progress(`soak: checking the database holds the ${acknowledged.total} acknowledged executions exactly once`);
  const ledger = await readSoakLedger(url, allIds);
  try {
    await assertExecutionCount(clients, acknowledged.total, "soak");
  } catch (error) {
    failures.push(`GetStatus after the soak: ${error instanceof Error ? error.message : String(error)}`);
  }
  failures.push(...ledgerFailures(ledger, acknowledged.total));
  const kinds: [string, KindFigures][] = [
    ["warm-up RecordExecution", warmup[0]],
    ["warm-up PredictAgents", warmup[1]],
    ["Health/Check before", noopBefore],
    ["RecordExecution", record],
    ["PredictAgents", predict],
    ["RecordExecutions", bulk],
    ["Health/Check after", noopAfter],
  ];
  for (const [name, figures] of kinds) if (figures.errorCount > 0) failures.push(`${name}: ${describeErrors(figures)}`);
  subscribers.forEach((s, i) => {
    if (s.errorCount > 0) failures.push(`StreamInsights subscriber ${i + 1}: ${describeErrors(s)}`);
    if (s.insights !== s.owed) {
      failures.push(
        `StreamInsights subscriber ${i + 1} received ${s.insights} insights, but the feed holds ${s.owed} between its start (${s.startCursor}) and the cursor it reached (${s.reachedCursor})`,
      );
    }
  });

  const serverExit = (await server.stop()) ?? "did not stop";
  if (crashed === undefined && serverExit !== "exited with code 0") {
    failures.push(`the server ${serverExit} on SIGTERM (expected a clean drain, code 0)`);
  }
  return {
    plan,
    noopBefore,
    noopAfter,
    record,
    predict,
    predictSources,
    bulk: { ...bulk, executions: acknowledged.bulk },
    subscribers,
    rssBootBytes,
    rss: summarizeRss(rssSamples),
    rssSamples,
    acknowledged,
    ledger,
    feedEvents,
    delivery,
    serverExit,
    serverLogLines: server.logLines(),
    serverLogTail: server.output(),
    failures,
  };
}

function describeErrors(figures: { errorCount: number; errors: Record<string, number>; errorSamples: string[] }): string {
  const codes = Object.entries(figures.errors)
    .map(([code, count]) => `${count} ${code}`)
    .join(", ");
  return `${figures.errorCount} errors (${codes}); first: ${figures.errorSamples.join(" | ")}`;
}
