import { type JsonObject, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnalyzeResponse } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { type Insight, InsightSchema, InsightStatus, InsightType } from "../../gen/agentlearning/v1/learning_pb.js";
import type { ListInsightsRequest, ListInsightsRequestSchema } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { DEPENDENCY_CONFLICT } from "../../src/sim/world.js";
import { makeExecution } from "../support/executions.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { asSet, recordInBulk, recordWorldHistory, world } from "../support/world-history.js";

// Pattern analysis over the synthetic world, whose best teams and clashing pairs are known: what
// Analyze publishes, how ListInsights filters and pages it, and how a finding is retired.

const TASK_TYPES = ["web_development", "bug_fix"] as const;

/** The fields of a ListInsightsRequest a test sets. */
type ListRequest = Exclude<MessageInitShape<typeof ListInsightsRequestSchema>, ListInsightsRequest>;

let server: TestServer;
let firstRun: AnalyzeResponse;

beforeAll(async () => {
  server = await startTestServer({
    // Analysis runs only when a test asks for it; the feed is read to its end by waiting for a heartbeat.
    config: { analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000, heartbeatMs: 200 },
  });
  // A first run on the empty database starts the schedule's clock, so no automatic run follows.
  await server.admin.analyze({});
  await recordWorldHistory(server.learning, { taskTypes: TASK_TYPES, count: 2_000, seed: 101 });
  firstRun = await server.admin.analyze({});
});

afterAll(async () => {
  await server?.stop();
});

/** Every insight ListInsights returns for the request, following next_page_token to the end. */
async function listAll(request: ListRequest = {}): Promise<Insight[]> {
  const all: Insight[] = [];
  let pageToken = "";
  for (let page = 0; page < 100; page++) {
    const response = await server.learning.listInsights({ pageSize: 500, ...request, pageToken });
    all.push(...response.insights);
    pageToken = response.nextPageToken;
    if (pageToken === "") return all;
  }
  throw new Error("ListInsights never reached its last page");
}

function dataOf(insight: Insight): JsonObject {
  return (toJson(InsightSchema, insight) as JsonObject).data as JsonObject;
}

function findPair(insights: readonly Insight[], taskType: string, pair: readonly string[]): Insight | undefined {
  const wanted = asSet(pair).join(",");
  return insights.find((i) => i.type === InsightType.AVOID_PATTERN && i.taskType === taskType && i.agents.join(",") === wanted);
}

/** The whole feed from the beginning, read until the stream goes idle (its first heartbeat). */
async function readFeed(): Promise<Insight[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 10_000);
  const versions: Insight[] = [];
  try {
    for await (const message of server.learning.streamInsights({ fromBeginning: true }, { signal: abort.signal })) {
      if (message.event.case === "heartbeat") break;
      if (message.event.case === "insight") versions.push(message.event.value);
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return versions;
}

async function invalidArgumentField(request: ListRequest): Promise<string[]> {
  try {
    await server.learning.listInsights(request);
  } catch (error) {
    const e = ConnectError.from(error);
    expect(e.code, e.message).toBe(Code.InvalidArgument);
    return e.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
  }
  throw new Error("ListInsights accepted an invalid request");
}

describe("Analyze over 2,000 executions of web_development and bug_fix", () => {
  it("publishes insights and reports them as created", async () => {
    expect(firstRun.executionCount).toBe(2_000n);
    expect(firstRun.createdCount).toBeGreaterThan(0);
    expect(await listAll()).toHaveLength(firstRun.createdCount);
  });

  it.each(TASK_TYPES)("reports the planted bad pair of %s as an avoid_pattern naming the dependency conflict", async (taskType) => {
    const insight = findPair(await listAll(), taskType, world.badPair(taskType));
    expect(insight, `no avoid_pattern for ${world.badPair(taskType).join("+")}`).toBeDefined();
    expect(insight?.agents).toEqual(asSet(world.badPair(taskType)));
    expect(insight?.status).toBe(InsightStatus.ACTIVE);
    const data = dataOf(insight as Insight);
    expect(String(data.dominant_error)).toContain(DEPENDENCY_CONFLICT);
    expect(insight?.description).toContain(DEPENDENCY_CONFLICT);
  });

  it.each(TASK_TYPES)("reports the planted best team of %s as a best_combo", async (taskType) => {
    const best = asSet(world.bestCombination(taskType));
    const combos = (await listAll({ types: [InsightType.BEST_COMBO], taskTypes: [taskType] })).map((i) => asSet(i.agents));
    expect(combos).toContainEqual(best);
  });

  it("gives every insight a confidence in [0, 1], a positive sample size and a confidence method", async () => {
    const insights = await listAll();
    expect(insights.length).toBeGreaterThan(0);
    for (const insight of insights) {
      expect(insight.confidence, insight.description).toBeGreaterThanOrEqual(0);
      expect(insight.confidence, insight.description).toBeLessThanOrEqual(1);
      expect(insight.sampleSize, insight.description).toBeGreaterThan(0n);
      expect(insight.confidenceMethod.trim(), insight.description).not.toBe("");
      expect(insight.insightId).not.toBe("");
      expect(insight.cursor).not.toBe("");
    }
  });

  it("creates, updates and retires nothing when analysing again without new data", async () => {
    const before = await listAll();
    const feedBefore = await readFeed();
    const again = await server.admin.analyze({});
    expect({ created: again.createdCount, updated: again.updatedCount, retired: again.retiredCount }).toEqual({
      created: 0,
      updated: 0,
      retired: 0,
    });
    const after = await listAll();
    expect(after.map((i) => [i.insightId, i.cursor])).toEqual(before.map((i) => [i.insightId, i.cursor]));
    expect(new Set(after.map((i) => i.insightId)).size).toBe(after.length);
    expect((await readFeed()).length).toBe(feedBefore.length);
  });
});

describe("ListInsights", () => {
  it("returns only insights of the requested types", async () => {
    const all = await listAll();
    const types = [InsightType.AVOID_PATTERN, InsightType.BEST_COMBO];
    const filtered = await listAll({ types });
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.map((i) => i.insightId)).toEqual(all.filter((i) => types.includes(i.type)).map((i) => i.insightId));
  });

  it("returns only insights of the requested task types", async () => {
    const all = await listAll();
    const filtered = await listAll({ taskTypes: ["bug_fix"] });
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.length).toBeLessThan(all.length);
    expect(filtered.map((i) => i.insightId)).toEqual(all.filter((i) => i.taskType === "bug_fix").map((i) => i.insightId));
  });

  it("returns only insights at or above min_confidence", async () => {
    const all = await listAll();
    const threshold = 0.999;
    const filtered = await listAll({ minConfidence: threshold });
    expect(filtered.map((i) => i.insightId)).toEqual(all.filter((i) => i.confidence >= threshold).map((i) => i.insightId));
    // The threshold must split the insights for this test to mean anything.
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.length).toBeLessThan(all.length);
  });

  it("pages through every insight two at a time, newest first, without duplicates or gaps", async () => {
    const all = await listAll();
    expect(all.length).toBeGreaterThan(4);
    const paged: Insight[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const response = await server.learning.listInsights({ pageSize: 2, pageToken });
      expect(response.insights.length).toBeLessThanOrEqual(2);
      paged.push(...response.insights);
      pageToken = response.nextPageToken;
      pages++;
    } while (pageToken !== "" && pages <= all.length);
    expect(pages).toBe(Math.ceil(all.length / 2));
    expect(paged.map((i) => i.insightId)).toEqual(all.map((i) => i.insightId));
    expect(new Set(paged.map((i) => i.insightId)).size).toBe(paged.length);
    const updated = paged.map((i) => (i.updatedAt ? Number(i.updatedAt.seconds) * 1e9 + i.updatedAt.nanos : 0));
    expect(updated).toEqual([...updated].sort((a, b) => b - a));
  });

  it.each<[string, ListRequest, string]>([
    ["an unknown insight type", { types: [99 as InsightType] }, "types[0]"],
    ["min_confidence 2", { minConfidence: 2 }, "min_confidence"],
    ["page_size 501", { pageSize: 501 }, "page_size"],
    ["a page_token it never issued", { pageToken: "garbage" }, "page_token"],
    ["an unknown status", { status: 7 as InsightStatus }, "status"],
  ])("rejects %s with INVALID_ARGUMENT naming the field", async (_, request, field) => {
    expect(await invalidArgumentField(request)).toContain(field);
  });
});

describe("a finding the evidence no longer supports", () => {
  const taskType = "web_development";
  const pair = world.badPair(taskType);
  const best = asSet(world.bestCombination(taskType));
  let retirement: AnalyzeResponse;
  let insightId: string;
  let bestBefore: Insight | undefined;

  beforeAll(async () => {
    const before = await listAll();
    const insight = findPair(before, taskType, pair);
    if (!insight) throw new Error("the bad pair was never reported; the tests above say why");
    insightId = insight.insightId;
    bestBefore = before.find((i) => i.type === InsightType.BEST_COMBO && i.taskType === taskType && asSet(i.agents).join() === best.join());
    // The pair's teams now succeed far more often than any other team.
    const pairTeams = world.candidateTeams(taskType).filter((team) => pair.every((agent) => team.includes(agent)));
    expect(pairTeams.length).toBeGreaterThan(0);
    const successes = Array.from({ length: 1_500 }, (_, i) =>
      makeExecution({ taskType, agents: [...(pairTeams[i % pairTeams.length] ?? [])], complexity: 2, durationSeconds: 400, success: true }),
    );
    await recordInBulk(server.learning, successes);
    retirement = await server.admin.analyze({ taskType });
  });

  it("is counted as retired by Analyze", () => {
    expect(retirement.retiredCount).toBeGreaterThanOrEqual(1);
  });

  it("is no longer listed as active", async () => {
    expect((await listAll()).map((i) => i.insightId)).not.toContain(insightId);
  });

  it("is listed with status RETIRED", async () => {
    const retired = await listAll({ status: InsightStatus.RETIRED });
    const insight = retired.find((i) => i.insightId === insightId);
    expect(insight).toBeDefined();
    expect(insight?.status).toBe(InsightStatus.RETIRED);
    expect(insight?.agents).toEqual(asSet(pair));
  });

  it("leaves a finding that still holds in place: same insight_id, a new version, not a second insight", async () => {
    expect(bestBefore).toBeDefined();
    const combos = (await listAll({ types: [InsightType.BEST_COMBO], taskTypes: [taskType] })).filter(
      (i) => asSet(i.agents).join() === best.join(),
    );
    expect(combos).toHaveLength(1);
    expect(combos[0]?.insightId).toBe(bestBefore?.insightId);
    // The typical team's rate moved, so the figures (and the version) did too.
    expect(retirement.updatedCount).toBeGreaterThan(0);
    expect(combos[0]?.cursor).not.toBe(bestBefore?.cursor);
    expect(combos[0]?.createdAt).toEqual(bestBefore?.createdAt);
  });

  it("has its retired version in the feed, after its active one", async () => {
    const versions = (await readFeed()).filter((i) => i.insightId === insightId);
    expect(versions.map((i) => i.status)).toEqual([InsightStatus.ACTIVE, InsightStatus.RETIRED]);
  });
});

describe("Analyze limited to one task type", () => {
  // A server of its own whose automatic analysis runs every 100 new executions (checked every 2 s).
  let own: TestServer;
  let run: AnalyzeResponse;

  beforeAll(async () => {
    own = await startTestServer({ config: { analysisEveryExecutions: 100, analysisIntervalMs: 3_600_000 } });
    await own.admin.analyze({});
    await recordWorldHistory(own.learning, { taskTypes: ["web_development"], count: 300, seed: 111 });
    await recordWorldHistory(own.learning, { taskTypes: ["bug_fix"], count: 1_000, seed: 112 });
    run = await own.admin.analyze({ taskType: "web_development" });
  });

  afterAll(async () => {
    await own?.stop();
  });

  it("reports as execution_count the executions of that task type only", async () => {
    expect(run.executionCount).toBe(300n);
    // Published by this run, or already by an automatic one that fired while the history was
    // being recorded (it checks every 2 s; a slow machine records for longer than that).
    expect((await own.learning.listInsights({ taskTypes: ["web_development"] })).insights.length).toBeGreaterThan(0);
  });

  it("leaves the other task types' new executions to automatic analysis", async () => {
    // Two scheduler checks after the manual run: 1,000 unanalysed bug_fix executions are due.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    const insights = (await own.learning.listInsights({ taskTypes: ["bug_fix"] })).insights;
    expect(insights.length, "no bug_fix insight: automatic analysis took the bug_fix executions as analysed").toBeGreaterThan(0);
  });
});
