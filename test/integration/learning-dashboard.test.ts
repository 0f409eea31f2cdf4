import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GetDashboardRequest, GetDashboardRequestSchema, GetDashboardResponse } from "../../gen/agentlearning/v1/admin_service_pb.js";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { DEPENDENCY_CONFLICT } from "../../src/sim/world.js";
import { requireBuild } from "../support/build-once.js";
import { runCli } from "../support/run-cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world } from "../support/world-history.js";

// GetDashboard's figures checked against the executions recorded, and the learning commands of
// the CLI run exactly as the README shows them (plus --address), compiled, in a child process.

const TASK_TYPES = ["web_development", "bug_fix"] as const;
const TREND_POINTS = 7;

type DashboardRequest = Exclude<MessageInitShape<typeof GetDashboardRequestSchema>, GetDashboardRequest>;

let server: TestServer;
let history: Execution[];

beforeAll(async () => {
  // The README's commands run compiled; only diagnostics in the CLI's and the simulator's files fail.
  await requireBuild(/src\/(cli|sim)\//);
  server = await startTestServer({ config: { analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000 } });
  await server.admin.analyze({});
  history = await recordWorldHistory(server.learning, { taskTypes: TASK_TYPES, count: 2_000, seed: 501 });
  await server.admin.analyze({});
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe("GetDashboard", () => {
  let dashboard: GetDashboardResponse;
  beforeAll(async () => {
    dashboard = await server.admin.getDashboard({ trendPoints: TREND_POINTS, recentInsights: 3 });
  });

  it("reports the same status as GetStatus", async () => {
    const status = await server.admin.getStatus({});
    expect(dashboard.status).toEqual(status);
    expect(status.executionCount).toBe(2_000n);
  });

  it("gives one trend per task type, with its execution count", () => {
    const counts = Object.fromEntries(TASK_TYPES.map((t) => [t, BigInt(history.filter((e) => e.taskType === t).length)]));
    expect(Object.fromEntries(dashboard.trends.map((t) => [t.taskType, t.executionCount]))).toEqual(counts);
  });

  it("gives at most trend_points success rates per task type, each in [0, 1]", () => {
    for (const trend of dashboard.trends) {
      expect(trend.successRates.length, trend.taskType).toBeGreaterThan(1);
      expect(trend.successRates.length, trend.taskType).toBeLessThanOrEqual(TREND_POINTS);
      for (const rate of trend.successRates) {
        expect(rate).toBeGreaterThanOrEqual(0);
        expect(rate).toBeLessThanOrEqual(1);
      }
    }
  });

  it("computes each trend point as the success rate of consecutive equal windows, oldest first", () => {
    for (const trend of dashboard.trends) {
      const outcomes = history.filter((e) => e.taskType === trend.taskType).map((e) => e.success);
      // Windows as equal as can be, the larger ones first (PostgreSQL's ntile).
      const small = Math.floor(outcomes.length / TREND_POINTS);
      const larger = outcomes.length % TREND_POINTS;
      const expected: number[] = [];
      let start = 0;
      for (let w = 0; w < TREND_POINTS; w++) {
        const size = small + (w < larger ? 1 : 0);
        const window = outcomes.slice(start, start + size);
        expected.push(window.filter(Boolean).length / window.length);
        start += size;
      }
      expect(trend.successRates.length).toBe(expected.length);
      trend.successRates.forEach((rate, i) => {
        expect(rate, `${trend.taskType} window ${i}`).toBeCloseTo(expected[i] ?? Number.NaN, 12);
      });
    }
  });

  it("ranks the agents by success rate, best first, with their executions and rates", () => {
    const expected = new Map<string, { n: number; s: number }>();
    for (const e of history) {
      for (const agent of e.agents) {
        const tally = expected.get(agent) ?? { n: 0, s: 0 };
        tally.n++;
        if (e.success) tally.s++;
        expected.set(agent, tally);
      }
    }
    expect(dashboard.agents.map((a) => a.agent).sort()).toEqual([...expected.keys()].sort());
    const rates = dashboard.agents.map((a) => a.successRate);
    expect(rates).toEqual([...rates].sort((a, b) => b - a));
    for (const a of dashboard.agents) {
      const tally = expected.get(a.agent);
      expect(a.executionCount, a.agent).toBe(BigInt(tally?.n ?? -1));
      expect(a.successRate, a.agent).toBeCloseTo((tally?.s ?? 0) / (tally?.n ?? 1), 12);
      expect(a.category, a.agent).not.toBe("");
      expect(a.meanDurationSeconds, a.agent).toBeGreaterThan(0);
    }
  });

  it("lists the newest insights, as many as asked", async () => {
    const newest = await server.learning.listInsights({ pageSize: 3 });
    expect(dashboard.recentInsights).toHaveLength(3);
    expect(dashboard.recentInsights.map((i) => i.insightId)).toEqual(newest.insights.map((i) => i.insightId));
  });

  it.each<[string, DashboardRequest, string]>([
    ["trend_points 1", { trendPoints: 1 }, "trend_points"],
    ["trend_points 101", { trendPoints: 101 }, "trend_points"],
    ["recent_insights 51", { recentInsights: 51 }, "recent_insights"],
  ])("rejects %s with INVALID_ARGUMENT naming the field", async (_, request, field) => {
    const error = await server.admin.getDashboard(request).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field))).toContain(field);
  });
});

describe("the learning commands of the CLI", () => {
  it("simulate web_development 10 records 10 executions", async () => {
    const before = (await server.admin.getStatus({})).executionCount;
    const run = await runCli(["simulate", "web_development", "10", "--address", server.url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/10 stored/);
    expect((await server.admin.getStatus({})).executionCount).toBe(before + 10n);
  });

  it("predict web_development 2.0 prints a table of ranked teams holding the best one", async () => {
    const run = await runCli(["predict", "web_development", "2.0", "--address", server.url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^#\s+agents\s+success/m);
    const best = world.bestCombination("web_development");
    expect(run.stdout.split("\n").some((line) => best.every((agent) => line.includes(agent)))).toBe(true);
  });

  it("insights lists the insights, naming the dependency conflict", async () => {
    const active = (await server.admin.getStatus({})).insightCount;
    const run = await runCli(["insights", "--address", server.url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(DEPENDENCY_CONFLICT);
    expect(run.stdout).toContain(`${active} insights`);
  });

  it("analyze runs analysis and reports what it covered", async () => {
    const executions = (await server.admin.getStatus({})).executionCount;
    const run = await runCli(["analyze", "--address", server.url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`^analysed ${executions} executions of all task types: \\d+ insights? created, \\d+ updated, \\d+ retired$`, "m"),
    );
  });

  it("dashboard --once prints one frame and exits", async () => {
    const executions = (await server.admin.getStatus({})).executionCount;
    const run = await runCli(["dashboard", "--once", "--address", server.url]);
    expect(run.code, run.stderr).toBe(0);
    for (const text of ["HEALTH", "web_development", "bug_fix", `executions ${executions} `]) expect(run.stdout).toContain(text);
  });
});
