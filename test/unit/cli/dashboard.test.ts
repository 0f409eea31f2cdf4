import { clone, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetDashboardResponseSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { InsightType, LearningMode } from "../../../gen/agentlearning/v1/learning_pb.js";
import { ArmStatusSchema, ChallengerMode, RolloutSchema } from "../../../gen/agentlearning/v1/rollout_pb.js";
import { formatDashboard } from "../../../src/cli/commands/dashboard.js";

const context = { address: "http://localhost:50051", at: new Date("2025-01-01T00:00:00Z") };

const dashboard = create(GetDashboardResponseSchema, {
  status: {
    serviceVersion: "0.1.0",
    databaseReady: true,
    executionCount: 1200n,
    successRate: 0.634,
    learningMode: LearningMode.ADAPTIVE,
    learningEnabled: true,
    activeModelVersion: "m-3",
    insightCount: 4n,
    predictionAccuracy: { evaluatedCount: 300n, brierScore: 0.182, observedSuccessRate: 0.71, meanPredictedSuccess: 0.684 },
  },
  trends: [
    { taskType: "web_development", successRates: [0, 0.5, 1], executionCount: 600n },
    { taskType: "bug_fix", successRates: [], executionCount: 0n },
  ],
  agents: Array.from({ length: 20 }, (_, i) => ({
    agent: `AGENT${i + 1}`,
    category: "core",
    executionCount: 10n,
    successRate: 1 - i / 40,
    meanDurationSeconds: 252,
  })),
  recentInsights: [
    {
      type: InsightType.BEST_COMBO,
      taskType: "web_development",
      agents: ["WEB", "APIDESIGNER", "TESTBED"],
      confidence: 0.999,
      sampleSize: 80n,
      description: "succeeds 93%",
    },
  ],
});

describe("formatDashboard", () => {
  it("shows the health figures on one line", () => {
    expect(formatDashboard(dashboard, context)).toContain(
      "executions 1200   success rate 63.4%   mode adaptive   learning enabled   model m-3   database ready   insights 4",
    );
  });

  it("draws each task type's trend as a sparkline with the latest rate", () => {
    const lines = formatDashboard(dashboard, context).split("\n");
    expect(lines.find((line) => line.includes("web_development") && line.includes("▁"))).toMatch(
      /^ {2}web_development\s+▁▅█\s+100\.0%\s+600$/,
    );
    expect(lines.find((line) => line.startsWith("  bug_fix"))).toMatch(/—\s+0$/);
  });

  it("ranks at most 15 agents", () => {
    const text = formatDashboard(dashboard, context);
    expect(text).toContain("AGENT15");
    expect(text).not.toContain("AGENT16");
    expect(text).toMatch(/ 1\s+AGENT1\s+core\s+10\s+100\.0%\s+4m 12s/);
  });

  it("lists recent insights and the accuracy of past predictions", () => {
    const text = formatDashboard(dashboard, context);
    expect(text).toMatch(/best_combo\s+web_development\s+WEB\+APIDESIGNER\+TESTBED\s+0\.999\s+80\s+succeeds 93%/);
    expect(text).toContain("300 evaluated   Brier score 0.182 (lower is better)   observed 71.0% vs predicted 68.4%");
  });

  it("says what is missing on an empty service rather than printing empty tables", () => {
    const text = formatDashboard(create(GetDashboardResponseSchema, { status: { databaseReady: true } }), context);
    expect(text).toContain("SUCCESS RATE BY TASK TYPE (oldest → newest window)\n  no executions yet");
    expect(text).toContain("RECENT INSIGHTS\n  none yet");
    expect(text).toContain("no recommendation has been followed by a recorded outcome yet");
  });

  it("shows a challenger under way with each arm's success and interval, and nothing of it otherwise", () => {
    const withRollout = clone(GetDashboardResponseSchema, dashboard);
    const status = withRollout.status!;
    status.rollout = create(RolloutSchema, {
      id: 3n,
      version: "m-4",
      kind: "success",
      mode: ChallengerMode.CANARY,
      canaryShare: 0.1,
      championVersion: "m-3",
    });
    status.arms = [
      create(ArmStatusSchema, {
        arm: "champion",
        version: "m-3",
        decisionCount: 900n,
        creditedCount: 800n,
        successRate: 0.7,
        lower: 0.668,
        upper: 0.73,
      }),
      create(ArmStatusSchema, {
        arm: "challenger",
        version: "m-4",
        decisionCount: 100n,
        creditedCount: 90n,
        successRate: 0.8,
        lower: 0.706,
        upper: 0.87,
      }),
    ];
    const lines = formatDashboard(withRollout, context).split("\n");
    expect(lines).toContain("CHALLENGER m-4 (canary at 10.0%) vs m-3");
    expect(lines).toContain("  champion   success 70.0% [66.8%, 73.0%]   credited 800 of 900");
    expect(lines).toContain("  challenger success 80.0% [70.6%, 87.0%]   credited 90 of 100");
    expect(formatDashboard(dashboard, context)).not.toContain("CHALLENGER");
  });

  it("mentions the refresh only in the live view", () => {
    expect(formatDashboard(dashboard, { ...context, live: true }).split("\n")[0]).toContain("Ctrl-C to quit");
    expect(formatDashboard(dashboard, context).split("\n")[0]).toBe(
      "agent-learning 0.1.0 at http://localhost:50051 — 2025-01-01T00:00:00.000Z",
    );
  });
});
