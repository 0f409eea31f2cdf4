import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Execution } from "../../gen/agentlearning/v1/execution_pb.js";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DEPENDENCY_CONFLICT } from "../../src/sim/world.js";
import { CONSOLE_TASK_TYPES, type ConsoleWorld, seedConsoleWorld } from "../support/console-world.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { asSet, world } from "../support/world-history.js";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ReportService } from "../../gen/agentlearning/v1/report_service_pb.js";

// ReportService's figures checked against the executions recorded: success over time split by
// followed recommendations, team standings and failing pairs, calibration and durations.

let server: TestServer;
let seeded: ConsoleWorld;
let all: Execution[];
let reports: ReturnType<typeof createClient<typeof ReportService>>;

beforeAll(async () => {
  server = await startTestServer({ config: { analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000 } });
  seeded = await seedConsoleWorld(server, { history: 1200, rounds: 30, seed: 21 });
  all = [...seeded.history, ...seeded.followed, ...seeded.overridden];
  reports = createClient(ReportService, createGrpcTransport({ baseUrl: server.url }));
});

afterAll(async () => {
  await server?.stop();
});

const sum = (values: readonly bigint[]) => values.reduce((a, b) => a + b, 0n);
const successes = (executions: readonly Execution[]) => BigInt(executions.filter((e) => e.success).length);

describe("GetSuccessOverTime", () => {
  it("counts every execution once per task type, and as followed exactly those run on the recommended team", async () => {
    const answer = await reports.getSuccessOverTime({ buckets: 6 });
    expect(answer.executionCount).toBe(BigInt(all.length));
    expect(answer.series.map((s) => s.taskType).sort()).toEqual([...CONSOLE_TASK_TYPES].sort());
    for (const series of answer.series) {
      expect(series.buckets).toHaveLength(6);
      const ofType = all.filter((e) => e.taskType === series.taskType);
      const followed = seeded.followed.filter((e) => e.taskType === series.taskType);
      expect(sum(series.buckets.map((b) => b.followed?.executionCount ?? 0n))).toBe(BigInt(followed.length));
      expect(sum(series.buckets.map((b) => b.followed?.successCount ?? 0n))).toBe(successes(followed));
      const notFollowed = series.buckets.map((b) => b.notFollowed?.executionCount ?? 0n);
      expect(sum(notFollowed)).toBe(BigInt(ofType.length - followed.length));
    }
  });

  it("gives contiguous buckets and 90% posterior intervals around the posterior mean", async () => {
    const [series] = (await reports.getSuccessOverTime({ taskType: "web_development", buckets: 5 })).series;
    expect(series?.taskType).toBe("web_development");
    const buckets = series?.buckets ?? [];
    for (let k = 1; k < buckets.length; k++) {
      expect(timestampDate(buckets[k]!.start!).getTime()).toBe(timestampDate(buckets[k - 1]!.end!).getTime());
    }
    for (const estimate of buckets.flatMap((b) => [b.followed!, b.notFollowed!])) {
      expect(estimate.interval?.level).toBe(0.9);
      if (estimate.executionCount === 0n) continue;
      expect(estimate.successRate).toBeCloseTo(Number(estimate.successCount) / Number(estimate.executionCount), 12);
      const mean = (1 + Number(estimate.successCount)) / (2 + Number(estimate.executionCount));
      expect(estimate.interval!.lower).toBeLessThan(mean);
      expect(estimate.interval!.upper).toBeGreaterThan(mean);
    }
  });

  it("rejects a bucket count out of range, naming the field", async () => {
    const error = await reports.getSuccessOverTime({ buckets: 1 }).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).message).toContain("buckets");
  });
});

describe("GetTeamReport", () => {
  it("ranks teams by posterior mean with the counts the executions give", async () => {
    const answer = await reports.getTeamReport({ taskType: "web_development", maxTeams: 8 });
    const [entry] = answer.taskTypes;
    expect(entry?.taskType).toBe("web_development");
    const ofType = all.filter((e) => e.taskType === "web_development");
    expect(entry?.executionCount).toBe(BigInt(ofType.length));
    const teams = entry?.teams ?? [];
    expect(teams.length).toBe(8);
    for (const team of teams) {
      const runs = ofType.filter((e) => asSet(e.agents).join("+") === team.agents.join("+"));
      expect(team.executionCount).toBe(BigInt(runs.length));
      expect(team.successCount).toBe(successes(runs));
      expect(team.posteriorMean).toBeCloseTo((1 + runs.filter((e) => e.success).length) / (2 + runs.length), 12);
      expect(team.successInterval!.lower).toBeLessThan(team.posteriorMean);
      expect(team.successInterval!.upper).toBeGreaterThan(team.posteriorMean);
      expect(team.p90DurationSeconds).toBeGreaterThanOrEqual(team.medianDurationSeconds);
    }
    const means = teams.map((t) => t.posteriorMean);
    expect(means).toEqual([...means].sort((a, b) => b - a));
    expect(teams[0]?.agents).toEqual(asSet(world.bestCombination("web_development")));
  });

  it("counts the planted bad pair's runs and failures exactly, with its dependency-conflict error, worst pairs first", async () => {
    const [entry] = (await reports.getTeamReport({ taskType: "web_development" })).taskTypes;
    const [a, b] = asSet(world.badPair("web_development"));
    const pair = entry?.pairs.find((p) => p.agentA === a && p.agentB === b);
    const holding = all.filter((e) => e.taskType === "web_development" && e.agents.includes(a!) && e.agents.includes(b!));
    expect(pair?.executionCount).toBe(BigInt(holding.length));
    expect(pair?.failureCount).toBe(BigInt(holding.filter((e) => !e.success).length));
    expect(pair?.dominantError.startsWith(DEPENDENCY_CONFLICT)).toBe(true);
    // Far worse than the task type; pairs that only ever ran beside it (or once, exploring) may rank above it.
    expect(pair!.failureRate).toBeGreaterThan(1 - entry!.successRate + 0.2);
    const rates = entry!.pairs.map((p) => p.failureRate);
    expect(rates).toEqual([...rates].sort((x, y) => y - x));
  });
});

describe("GetModelReport", () => {
  it("bins exactly the credited recommendations, with the ECE of its bins and GetStatus's Brier score", async () => {
    const [report, status] = await Promise.all([reports.getModelReport({ calibrationBins: 5 }), server.admin.getStatus({})]);
    const credited = seeded.followed.length + seeded.overridden.length;
    const calibration = report.calibration!;
    expect(calibration.evaluatedCount).toBe(BigInt(credited));
    expect(status.predictionAccuracy?.evaluatedCount).toBe(BigInt(credited));
    expect(calibration.bins).toHaveLength(5);
    expect(sum(calibration.bins.map((b) => b.count))).toBe(BigInt(credited));
    const ece = calibration.bins.reduce((e, b) => e + (Number(b.count) / credited) * Math.abs(b.meanPredicted - b.observedRate), 0);
    expect(calibration.expectedCalibrationError).toBeCloseTo(ece, 12);
    expect(calibration.brierScore).toBeCloseTo(status.predictionAccuracy!.brierScore, 12);
    expect(report.durations).toHaveLength(credited);
    const actual = new Set([...seeded.followed, ...seeded.overridden].map((e) => e.durationSeconds));
    for (const point of report.durations) {
      expect(actual.has(point.actualSeconds)).toBe(true);
      expect(point.predictedSeconds).toBeGreaterThan(0);
    }
  });
});
