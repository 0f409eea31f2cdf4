import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ChallengerMode } from "../../../gen/agentlearning/v1/rollout_pb.js";
import { type GetDashboardResponse, GetDashboardResponseSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { formatDuration } from "../durations.js";
import { learningModeName } from "../enum-names.js";
import { describeFailure } from "../failure.js";
import { formatInsightTable } from "../insight-table.js";
import { interruptOnSigint, pause } from "../interrupt.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { percent, printResult } from "../output.js";
import { sparkline } from "../sparkline.js";
import { formatTable } from "../table.js";
import { withClient } from "../with-client.js";

interface DashboardOptions extends ClientOptions {
  once?: boolean;
}

/** How often a live dashboard asks again. */
const REFRESH_MS = 2_000;
/** Points of each success-rate trend: twenty windows fit one line beside the task type. */
const TREND_POINTS = 20;
/** The agent ranking shows this many agents, best first. */
const TOP_AGENTS = 15;
const RECENT_INSIGHTS = 10;
/** ANSI: cursor home, clear screen; the frame is redrawn whole, so nothing stale remains. */
const CLEAR = "\x1b[H\x1b[2J";

/** Registers `dashboard`: the service's learning at a glance, refreshed live in a terminal. */
export function registerDashboard(program: Command): void {
  withClientOptions(
    program
      .command("dashboard")
      .description("show health, success trends, agent ranking, insights and prediction accuracy; refreshes every 2 s until Ctrl-C")
      .option("--once", "print one frame and exit (also the behaviour when stdout is not a terminal)"),
  ).action((options: DashboardOptions) =>
    withClient(options.address, async ({ admin }) => {
      const request = { trendPoints: TREND_POINTS, recentInsights: RECENT_INSIGHTS };
      const live = options.once !== true && options.json !== true && process.stdout.isTTY === true;
      if (!live) {
        const response = await admin.getDashboard(request);
        printResult(
          options,
          () => formatDashboard(response, { address: options.address, at: new Date() }),
          () => toJson(GetDashboardResponseSchema, response, { alwaysEmitImplicit: true }),
        );
        return;
      }
      // The first frame must succeed (so UNIMPLEMENTED or a wrong address fails the command); a
      // later failure, e.g. a restarting server, is shown in place and retried.
      const interrupt = interruptOnSigint();
      try {
        let response = await admin.getDashboard(request, { signal: interrupt.signal });
        let problem: string | undefined;
        while (!interrupt.signal.aborted) {
          const frame = formatDashboard(response, { address: options.address, at: new Date(), width: process.stdout.columns, live: true });
          process.stdout.write(`${CLEAR}${problem ? `!! ${problem} (showing the last good figures; retrying)\n\n` : ""}${frame}\n`);
          await pause(REFRESH_MS, interrupt.signal);
          if (interrupt.signal.aborted) break;
          try {
            response = await admin.getDashboard(request, { signal: interrupt.signal });
            problem = undefined;
          } catch (error) {
            if (interrupt.signal.aborted) break;
            problem = describeFailure(error, options.address).message;
          }
        }
      } catch (error) {
        if (!interrupt.signal.aborted) throw error;
      } finally {
        interrupt.dispose();
      }
    }),
  );
}

/** Where and when a frame was taken, and whether it is the live view. */
export interface FrameContext {
  address: string;
  at: Date;
  /** Terminal width: long descriptions give way to it. */
  width?: number;
  /** Mentions the refresh and how to stop it. */
  live?: boolean;
}

/**
 * One frame of the dashboard: health, success-rate trend per task type (a sparkline on the fixed
 * 0–100% scale, then the latest window's rate), the agent ranking, recent insights and the
 * accuracy of past predictions.
 */
export function formatDashboard(dashboard: GetDashboardResponse, context: FrameContext): string {
  const status = dashboard.status;
  const sections: string[] = [
    `agent-learning ${status?.serviceVersion ?? ""} at ${context.address} — ${context.at.toISOString()}` +
      (context.live ? `  (every ${REFRESH_MS / 1000} s; Ctrl-C to quit)` : ""),
  ];

  sections.push(
    [
      "HEALTH",
      status
        ? `  executions ${status.executionCount}   success rate ${percent(status.successRate)}   ` +
          `mode ${learningModeName(status.learningMode)}   learning ${status.learningEnabled ? "enabled" : "DISABLED"}   ` +
          `model ${status.activeModelVersion || "none"}   database ${status.databaseReady ? "ready" : "NOT READY"}   ` +
          `insights ${status.insightCount}`
        : "  no status reported",
    ].join("\n"),
  );

  sections.push(
    [
      "SUCCESS RATE BY TASK TYPE (oldest → newest window)",
      dashboard.trends.length === 0
        ? "  no executions yet"
        : formatTable(
            [{ header: "task type" }, { header: "trend" }, { header: "latest", align: "right" }, { header: "executions", align: "right" }],
            dashboard.trends.map((trend) => {
              const latest = trend.successRates[trend.successRates.length - 1];
              return [
                trend.taskType,
                sparkline(trend.successRates),
                latest === undefined ? "—" : percent(latest),
                String(trend.executionCount),
              ];
            }),
            { indent: "  " },
          ),
    ].join("\n"),
  );

  sections.push(
    [
      `AGENTS (top ${TOP_AGENTS} by success rate)`,
      dashboard.agents.length === 0
        ? "  none yet"
        : formatTable(
            [
              { header: "#", align: "right" },
              { header: "agent" },
              { header: "category" },
              { header: "executions", align: "right" },
              { header: "success", align: "right" },
              { header: "mean duration", align: "right" },
            ],
            dashboard.agents
              .slice(0, TOP_AGENTS)
              .map((agent, i) => [
                String(i + 1),
                agent.agent,
                agent.category || "—",
                String(agent.executionCount),
                percent(agent.successRate),
                formatDuration(agent.meanDurationSeconds),
              ]),
            { indent: "  " },
          ),
    ].join("\n"),
  );

  sections.push(
    [
      "RECENT INSIGHTS",
      dashboard.recentInsights.length === 0
        ? "  none yet"
        : formatInsightTable(dashboard.recentInsights, { indent: "  ", width: context.width }),
    ].join("\n"),
  );

  const accuracy = status?.predictionAccuracy;
  sections.push(
    [
      "PREDICTION ACCURACY",
      accuracy && accuracy.evaluatedCount > 0n
        ? `  ${accuracy.evaluatedCount} evaluated   Brier score ${accuracy.brierScore.toFixed(3)} (lower is better)   ` +
          `observed ${percent(accuracy.observedSuccessRate)} vs predicted ${percent(accuracy.meanPredictedSuccess)}`
        : "  no recommendation has been followed by a recorded outcome yet",
    ].join("\n"),
  );

  // A challenger under way: each arm's credited success with its 95% interval.
  if (status?.rollout) {
    const r = status.rollout;
    const share = r.canaryShare > 0 ? ` at ${percent(r.canaryShare)}` : "";
    sections.push(
      [
        `CHALLENGER ${r.version} (${r.mode === ChallengerMode.CANARY ? "canary" : "shadow"}${share}) vs ${r.championVersion || "none"}`,
        ...status.arms.map(
          (a) =>
            `  ${a.arm.padEnd(10)} success ${percent(a.successRate)} [${percent(a.lower)}, ${percent(a.upper)}]   credited ${a.creditedCount} of ${a.decisionCount}`,
        ),
      ].join("\n"),
    );
  }

  return sections.join("\n\n");
}
